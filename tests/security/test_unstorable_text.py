"""A NUL or a lone surrogate in JSON reached text and jsonb columns and answered 500: now a 400
naming the field, from the one parser every API view uses (and ingestion's decoder)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Interaction, Queue
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA
from tests.security.conftest import Targets, json_request

NUL, SURROGATE = "\x00", "\ud800"

Case = tuple[str, str, Callable[[Targets], str], Callable[[str], dict[str, Any]], str]
LEAD_CASES: list[Case] = [
    (
        "queue name",
        "post",
        lambda t: "/api/v1/queues",
        lambda bad: {"project": "support-bot", "name": f"q{bad}", "schema": REVIEW_SCHEMA},
        "name",
    ),
    (
        "queue filter",
        "patch",
        lambda t: f"/api/v1/queues/{t.queue.pk}",
        lambda bad: {"filters": {"model": bad}},
        "filters.model",
    ),
    (
        "check parameters",
        "post",
        lambda t: "/api/v1/checks",
        lambda bad: {
            "project": "support-bot",
            "name": "words",
            "type": "blocklist",
            "parameters": {"terms": ["ok", bad]},
        },
        "parameters.terms[1]",
    ),
    (
        "export project",
        "post",
        lambda t: "/api/v1/exports",
        lambda bad: {"project": f"support-bot{bad}", "kind": "sft"},
        "project",
    ),
    (
        "export system_prompt",
        "post",
        lambda t: "/api/v1/exports",
        lambda bad: {"project": "support-bot", "kind": "sft", "system_prompt": bad},
        "system_prompt",
    ),
    (
        "export filters",
        "post",
        lambda t: "/api/v1/exports",
        lambda bad: {"project": "support-bot", "filters": {"model": [bad]}},
        "filters.model[0]",
    ),
    (
        "guideline",
        "post",
        lambda t: "/api/v1/guidelines",
        lambda bad: {"project": "support-bot", "text": f"# Rules {bad}"},
        "text",
    ),
    (
        "adjudication",
        "post",
        lambda t: f"/api/v1/items/{t.item.pk}/adjudication",
        lambda bad: {"values": {"verdict": "bad", "comment": bad}},
        "values.comment",
    ),
]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("name", "method", "url", "body", "field"), LEAD_CASES, ids=[c[0] for c in LEAD_CASES]
)
def test_it_refuses_unstorable_text_from_a_lead(
    lead: Persona,
    targets: Targets,
    name: str,
    method: str,
    url: Any,
    body: Any,
    field: str,
    bad: str,
) -> None:
    queues_before = Queue.objects.count()

    response = json_request(lead.client(), method, url(targets), json.dumps(body(bad)))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_text"
    assert error["details"] == {"field": field}
    assert ("NUL" if bad == NUL else "surrogate") in error["message"]
    assert Queue.objects.count() == queues_before


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_it_refuses_unstorable_text_in_an_annotation(
    annotator: Persona, targets: Targets, bad: str
) -> None:
    submit = json.dumps({"values": {"verdict": "bad", "comment": bad}})
    revise = json.dumps({"values": {"verdict": "bad", f"x{bad}": 1}})

    submitted = json_request(
        annotator.client(), "post", f"/api/v1/items/{targets.item.pk}/annotations", submit
    )
    revised = json_request(
        annotator.client(), "patch", f"/api/v1/annotations/{targets.annotation.pk}", revise
    )

    assert submitted.status_code == revised.status_code == 400
    assert submitted.json()["error"]["details"] == {"field": "values.comment"}
    # A key is named with the character spelled out, so the error itself is valid UTF-8 JSON.
    assert revised.json()["error"]["details"] == {"field": f"values.x\\u{ord(bad):04x}"}
    targets.annotation.refresh_from_db()
    assert targets.annotation.values == {"verdict": "bad"}


def test_ingestion_refuses_a_lone_surrogate_naming_the_field(ingest_client: APIClient) -> None:
    one = {"request_id": "req-1", "prompt": "p", "response": f"a{SURROGATE}b"}
    batch = {"items": [{"request_id": "req-2", "prompt": "p", "response": "ok"}, one]}

    single = json_request(ingest_client, "post", "/api/v1/interactions", json.dumps(one))
    many = json_request(ingest_client, "post", "/api/v1/interactions", json.dumps(batch))

    assert single.status_code == many.status_code == 400
    assert single.json()["error"]["code"] == "invalid_text"
    assert single.json()["error"]["details"] == {"field": "response"}
    assert many.json()["error"]["details"] == {"field": "items[1].response"}
    assert not Interaction.objects.exists()


def test_ingestion_refuses_a_lone_surrogate_in_feedback(ingest_client: APIClient) -> None:
    body = {"request_id": "req-1", "kind": "comment", "text": "\udc00"}

    response = json_request(ingest_client, "post", "/api/v1/feedback", json.dumps(body))

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "text"}


def test_a_valid_surrogate_pair_is_text(ingest_client: APIClient) -> None:
    body = {"request_id": "req-1", "prompt": "p", "response": "smile \U0001f600"}

    response = json_request(ingest_client, "post", "/api/v1/interactions", json.dumps(body))

    assert response.status_code == 201
    assert Interaction.objects.get().response == "smile \U0001f600"
