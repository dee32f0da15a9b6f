"""Every group of options in the workspace form shows the number keys that pick its options."""

from __future__ import annotations

import re

from annotation.models import Project
from tests.conftest import Persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue
from tests.workspace.conftest import browser

OPTIONS = [f"label_{n}" for n in range(1, 13)]


def workspace_html(project: Project, annotator: Persona, schema: dict[str, object]) -> str:
    queue = make_queue(project, [annotator], name="Keys", overlap=1, schema=schema)
    QueueItemFactory(
        queue=queue,
        interaction=InteractionFactory(
            project=project,
            retrieved_context=[
                {"id": "kb-1", "text": "Settings.", "score": 0.9},
                {"id": "kb-2", "text": "Billing.", "score": 0.2},
            ],
        ),
    )
    response = browser(annotator).post(f"/queues/{queue.pk}/work", follow=True)
    assert response.status_code == 200
    return response.content.decode()


def keys_of(html: str, name: str) -> dict[str, str | None]:
    """value -> the key its input answers to (None without one), for the inputs named `name`."""
    keys: dict[str, str | None] = {}
    for tag in re.findall(rf'<input type="(?:radio|checkbox)" name="{name}"[^>]*>', html):
        value = re.search(r'value="([^"]*)"', tag)
        key = re.search(r'data-key="(\d)"', tag)
        assert value is not None
        keys[value.group(1)] = key.group(1) if key else None
    return keys


def test_a_likert_scale_within_one_to_nine_is_keyed_by_its_points(
    project: Project, annotator: Persona
) -> None:
    html = workspace_html(
        project, annotator, {"fields": [{"name": "rating", "type": "likert", "min": 3, "max": 7}]}
    )

    assert keys_of(html, "rating") == {str(n): str(n) for n in range(3, 8)}
    assert re.search(r'value="5" data-key="5" aria-keyshortcuts="5"> <kbd class="key-hint"', html)


def test_a_scale_from_zero_to_ten_keys_its_first_nine_points_by_position(
    project: Project, annotator: Persona
) -> None:
    html = workspace_html(
        project, annotator, {"fields": [{"name": "rating", "type": "likert", "min": 0, "max": 10}]}
    )

    expected: dict[str, str | None] = {str(n): str(n + 1) for n in range(9)}
    assert keys_of(html, "rating") == {**expected, "9": None, "10": None}


def test_options_past_the_ninth_show_no_key(project: Project, annotator: Persona) -> None:
    html = workspace_html(
        project,
        annotator,
        {
            "fields": [
                {"name": "topic", "type": "choice", "options": OPTIONS},
                {"name": "tags", "type": "multi_choice", "options": OPTIONS},
            ]
        },
    )

    for name in ("topic", "tags"):
        keys = keys_of(html, name)
        assert [keys[option] for option in OPTIONS] == [str(n) for n in range(1, 10)] + [None] * 3
    assert "<kbd" not in html.split('value="label_10"')[1].split("</label>")[0]
    assert html.count('<kbd class="key-hint" aria-hidden="true">') == 18


def test_each_document_s_relevance_is_its_own_group_of_keys(
    project: Project, annotator: Persona
) -> None:
    html = workspace_html(
        project,
        annotator,
        {
            "fields": [
                {"name": "verdict", "type": "choice", "options": ["good", "bad"]},
                {"name": "relevance", "type": "relevance"},
                {"name": "preference", "type": "pairwise"},
            ]
        },
    )

    assert re.findall(r'data-keys="([^"]*)"', html) == [
        "Verdict",
        "Relevance of kb-1",
        "Relevance of kb-2",
        "Preference",
    ]
    ratings = {"relevant": "1", "partially_relevant": "2", "irrelevant": "3"}
    assert keys_of(html, "relevance__doc__kb-1") == ratings
    assert keys_of(html, "relevance__doc__kb-2") == ratings
    assert keys_of(html, "preference") == {"A": "1", "B": "2", "tie": "3"}
    assert '<p class="key-status muted" data-key-status aria-live="polite"></p>' in html
