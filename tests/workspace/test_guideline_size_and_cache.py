"""Guidelines are bounded in size everywhere they are written, and each version is rendered once.

A 199,000-character guideline used to be rendered again on every workspace load (2.3 s each). Its
HTML is now cached per version; the renderer's calls are counted at markdown-it itself, below
every path that could call it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache

from annotation import rendering
from annotation.models import Guideline, Project, Queue
from annotation.services.guidelines import MAX_GUIDELINE_CHARS, guideline_publish
from tests.conftest import Persona
from tests.workspace.conftest import add_items, browser

GUIDELINES = "/lead/projects/support-bot/guidelines"
HTMX = {"HTTP_HX_REQUEST": "true"}


@dataclass
class Renders:
    texts: list[str]

    @property
    def count(self) -> int:
        return len(self.texts)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[Renders]:
    """Every markdown render, counted; the cache starts empty (this run's own Redis database)."""
    cache.clear()
    seen = Renders(texts=[])
    original = rendering._MARKDOWN.render

    def counting(text: str, env: Any = None) -> str:
        seen.texts.append(text)
        return original(text, env)

    monkeypatch.setattr(rendering._MARKDOWN, "render", counting)
    yield seen
    cache.clear()


def long_guideline(chars: int) -> str:
    section = "## Rule\n\nMark **wrong** answers bad, and say why in the comment.\n\n"
    return (section * (chars // len(section) + 1))[:chars]


def test_the_second_workspace_load_does_not_render_the_guideline_again(
    annotator: Persona, work_queue: Queue, guideline: Guideline, renders: Renders
) -> None:
    add_items(work_queue, 2)
    client = browser(annotator)

    first = client.get(f"/queues/{work_queue.pk}/work")
    second = client.get(f"/queues/{work_queue.pk}/work")
    another_session = browser(annotator)
    third = another_session.get(f"/queues/{work_queue.pk}/work")

    assert renders.texts == [guideline.text]
    for response in (first, second, third):
        assert response.status_code == 200
        assert "<strong>wrong</strong>" in response.content.decode()


def test_a_large_guideline_is_rendered_once_per_version(
    annotator: Persona, lead: Persona, work_queue: Queue, renders: Renders
) -> None:
    add_items(work_queue, 1)
    big = guideline_publish(project=work_queue.project, text=long_guideline(MAX_GUIDELINE_CHARS))
    client = browser(annotator)

    for _ in range(3):
        assert client.get(f"/queues/{work_queue.pk}/work").status_code == 200
    newer = guideline_publish(project=work_queue.project, text="# Short\n\nBe **kind**.")
    html = client.get(f"/queues/{work_queue.pk}/work").content.decode()

    assert renders.texts == [big.text, newer.text]
    assert "Guideline v5" in html and "<strong>kind</strong>" in html
    assert "Mark <strong>wrong</strong>" not in html


def test_the_lead_s_version_page_uses_the_same_cache(
    annotator: Persona, lead: Persona, work_queue: Queue, guideline: Guideline, renders: Renders
) -> None:
    add_items(work_queue, 1)
    browser(annotator).get(f"/queues/{work_queue.pk}/work")

    page = browser(lead).get(f"{GUIDELINES}/{guideline.version}")

    assert page.status_code == 200 and "<strong>wrong</strong>" in page.content.decode()
    assert renders.count == 1


def test_a_cached_rendering_is_never_served_for_another_text(renders: Renders) -> None:
    # The same id and version with another text: a database recreated under the same cache.
    @dataclass
    class Version:
        pk: int
        version: int
        text: str

    first = rendering.guideline_html(Version(pk=1, version=1, text="*one*"))
    again = rendering.guideline_html(Version(pk=1, version=1, text="*one*"))
    other = rendering.guideline_html(Version(pk=1, version=1, text="*two*"))

    assert (first, again, other) == ("<p><em>one</em></p>\n",) * 2 + ("<p><em>two</em></p>\n",)
    assert renders.count == 2


def test_the_api_refuses_a_guideline_over_the_limit_naming_text(
    project: Project, lead: Persona
) -> None:
    client = lead.client()

    too_long = client.post(
        "/api/v1/guidelines",
        {"project": "support-bot", "text": long_guideline(MAX_GUIDELINE_CHARS + 1)},
        format="json",
    )
    at_limit = client.post(
        "/api/v1/guidelines",
        {"project": "support-bot", "text": long_guideline(MAX_GUIDELINE_CHARS)},
        format="json",
    )

    assert MAX_GUIDELINE_CHARS == 100_000
    assert too_long.status_code == 400
    error = too_long.json()["error"]
    assert error["code"] == "invalid_guideline"
    assert error["message"].startswith("text: the guideline is longer than 100000 characters")
    assert list(error["details"]) == ["text"]
    assert at_limit.status_code == 201
    assert list(Guideline.objects.values_list("version", flat=True)) == [1]


def test_the_lead_page_refuses_a_guideline_over_the_limit_as_a_form_error(
    lead: Persona, project: Project, renders: Renders
) -> None:
    text = long_guideline(MAX_GUIDELINE_CHARS + 1)

    response = browser(lead).post(GUIDELINES, {"text": text, "base_version": "0"})

    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="guideline-problem"' in html and 'aria-invalid="true"' in html
    assert "the guideline has 100,001 characters; keep it to at most 100,000" in html
    assert 'maxlength="100000"' in html
    assert not Guideline.objects.exists()
    assert renders.count == 0  # neither published nor previewed


def test_the_live_preview_of_an_over_long_text_says_so_without_rendering_it(
    lead: Persona, project: Project, renders: Renders
) -> None:
    response = browser(lead).post(
        f"{GUIDELINES}/preview", {"text": long_guideline(MAX_GUIDELINE_CHARS + 5)}, **HTMX
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="guideline-preview"')
    assert "the guideline has 100,005 characters; keep it to at most 100,000" in html
    assert renders.count == 0


def test_the_admin_refuses_a_guideline_over_the_limit_as_a_form_error(
    lead: Persona, project: Project
) -> None:
    response = browser(lead).post(
        "/admin/annotation/guideline/add/",
        {"project": project.pk, "text": long_guideline(MAX_GUIDELINE_CHARS + 1)},
    )

    assert response.status_code == 200
    assert "keep it to at most 100,000" in response.content.decode()
    assert not Guideline.objects.exists()
