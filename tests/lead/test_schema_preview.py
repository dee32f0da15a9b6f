"""The label schema builder's live preview: the annotator's form drawn by the workspace's own
widgets, or the schema's problems by field; nothing saved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from annotation.models import Project, Queue
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA
from tests.lead.conftest import HTMX
from tests.workspace.conftest import browser


def preview(persona: Persona, schema: Any, project: str = "support-bot") -> Any:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return browser(persona).post(
        f"/lead/projects/{project}/schema-preview", {"schema": text}, **HTMX
    )


def test_it_draws_the_annotators_form(lead: Persona) -> None:
    schema = {
        "fields": [
            {
                "name": "verdict",
                "type": "choice",
                "options": ["good", "bad"],
                "required": True,
                "label": "Is the answer right?",
            },
            {"name": "rating", "type": "likert", "min": 1, "max": 3},
            {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
            {"name": "docs", "type": "relevance"},
        ]
    }

    response = preview(lead, schema)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="schema-preview"')
    assert "Is the answer right?" in html
    assert 'data-field="verdict"' in html and 'type="radio" name="verdict" value="good"' in html
    assert html.count('name="rating"') == 3
    assert 'type="checkbox" name="reasons" value="unsafe"' in html  # the project's taxonomy
    assert "doc-1" in html and "doc-2" in html
    assert '<fieldset class="label-form preview-form" disabled' in html


def test_problems_come_back_by_field(lead: Persona) -> None:
    schema = {
        "fields": [
            {"name": "verdict", "type": "choice", "options": ["good", "bad"]},
            {"name": "Bad Name", "type": "choice", "options": []},
            {"name": "scale", "type": "likert", "min": 5, "max": 1},
        ]
    }

    html = preview(lead, schema).content.decode()

    assert 'data-error-index="1"' in html and 'data-error-index="2"' in html
    assert 'data-error-index="0"' not in html
    assert "Field 2 (Bad Name): name:" in html
    assert "Field 3 (scale): min 5 and max 1 must satisfy" in html
    assert "data-preview-form" not in html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "Not valid JSON"),
        ("[1, 2]", "schema: must be an object like {&quot;fields&quot;: [...]}"),
        ('{"fields": []}', "schema.fields: must be a non-empty list"),
        ("x" * 200_001, "a schema is at most 200,000"),
    ],
)
def test_bad_text_is_explained(lead: Persona, text: str, message: str) -> None:
    assert message in preview(lead, text).content.decode()


def test_user_text_is_escaped(lead: Persona) -> None:
    schema = {
        "fields": [
            {
                "name": "verdict",
                "type": "choice",
                "options": ["<img src=x>", "ok"],
                "label": "<script>alert(1)</script>",
            }
        ]
    }

    html = preview(lead, schema).content.decode()

    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;" in html


def test_the_queue_editor_offers_the_builder(lead: Persona, queue: Queue) -> None:
    html = browser(lead).get(f"/lead/queues/{queue.pk}/edit").content.decode()

    assert "data-schema-builder" in html and 'data-schema-source="id_schema"' in html
    assert 'hx-post="/lead/projects/support-bot/schema-preview"' in html
    assert "js/schema-builder" in html
    assert 'name="schema"' in html and "&quot;fields&quot;: [" in html  # the JSON stays


@pytest.mark.parametrize(
    ("who", "status"), [("engineer", 403), ("annotator", 403), ("outsider", 404)]
)
def test_only_the_projects_leads_preview(
    project: Project, request: pytest.FixtureRequest, who: str, status: int
) -> None:
    assert preview(request.getfixturevalue(who), REVIEW_SCHEMA).status_code == status


def test_it_answers_only_post(lead: Persona) -> None:
    assert browser(lead).get("/lead/projects/support-bot/schema-preview").status_code == 405
