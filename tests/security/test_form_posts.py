"""NUL in a form value (workspace, revise, adjudicate, queue editor, guidelines) answered 500 where
it reached the database: now a 400 page naming the field, for full pages and htmx alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from annotation.models import Guideline, Queue
from tests.conftest import Persona
from tests.lead.conftest import form_data
from tests.security.conftest import Targets


def _browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


Form = tuple[str, str, Callable[[Targets], str], dict[str, Any], str]
FORMS: list[Form] = [
    (
        "workspace",
        "annotator",
        lambda t: f"/queues/{t.queue.pk}/items/{t.item.pk}/submit",
        {"verdict": "bad", "comment": "a\x00b"},
        "comment",
    ),
    (
        "revise",
        "annotator",
        lambda t: f"/annotations/{t.annotation.pk}/edit",
        {"verdict": "bad", "correction": "\x00"},
        "correction",
    ),
    (
        "adjudicate",
        "lead",
        lambda t: f"/lead/queues/{t.queue.pk}/items/{t.item.pk}/adjudicate",
        {"verdict": "good", "comment": "x\x00"},
        "comment",
    ),
    (
        "queue editor",
        "lead",
        lambda t: "/lead/queues/new?project=support-bot",
        form_data(name="Nul\x00queue"),
        "name",
    ),
    (
        "guidelines",
        "lead",
        lambda t: "/lead/projects/support-bot/guidelines",
        {"text": "# Rules\x00"},
        "text",
    ),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("name", "who", "url", "data", "field"), FORMS, ids=[f[0] for f in FORMS])
def test_a_form_value_with_nul_is_a_400_naming_the_field(
    request: pytest.FixtureRequest,
    targets: Targets,
    name: str,
    who: str,
    url: Any,
    data: dict[str, Any],
    field: str,
    htmx: bool,
) -> None:
    persona: Persona = request.getfixturevalue(who)
    queues, guidelines = Queue.objects.count(), Guideline.objects.count()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = _browser(persona).post(url(targets), data, **headers)

    html = response.content.decode()
    assert response.status_code == 400
    assert f"The field `{field}` contains a NUL character" in html
    assert ("<html" in html) is not htmx
    if htmx:  # shown at the top of the page, whatever the form targeted (see base.html)
        assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#main", "afterbegin")
    assert (Queue.objects.count(), Guideline.objects.count()) == (queues, guidelines)
    targets.annotation.refresh_from_db()
    assert targets.annotation.values == {"verdict": "bad"}


def test_a_multipart_form_value_with_nul_is_refused(lead: Persona) -> None:
    from django.test.client import MULTIPART_CONTENT

    response = _browser(lead).post(
        "/lead/projects/support-bot/guidelines", {"text": "\x00"}, content_type=MULTIPART_CONTENT
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ('{"fields": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested more than 64 levels"),
        ('{"fields": [{"name": "v", "type": "text", "help": "\\u0000"}]}', "NUL character"),
        ('{"fields": [{"name": "\\ud800", "type": "text"}]}', "lone UTF-16 surrogate"),
        ('{"fields": [NaN]}', "NaN is not valid JSON"),
    ],
    ids=["deep", "nul-escape", "surrogate", "nan"],
)
def test_the_queue_editor_schema_is_read_with_the_same_limits(
    lead: Persona, schema: str, message: str
) -> None:
    response = _browser(lead).post("/lead/queues/new?project=support-bot", form_data(schema=schema))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Queue.objects.exists()


def test_the_queue_editor_metadata_filter_is_read_with_the_same_limits(lead: Persona) -> None:
    response = _browser(lead).post(
        "/lead/queues/new?project=support-bot", form_data(metadata='locale="\\u0000"')
    )

    assert response.status_code == 422
    assert "line 1: `$` contains a NUL character" in response.content.decode()
    assert not Queue.objects.exists()


def test_a_clean_form_still_saves(lead: Persona) -> None:
    response = _browser(lead).post(
        "/lead/queues/new?project=support-bot", form_data(schema=json.dumps({"fields": []}))
    )

    assert response.status_code != 400
