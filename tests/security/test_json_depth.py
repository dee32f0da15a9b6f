"""JSON nested 10,000 deep answered 500 (a RecursionError) on every JSON endpoint: now a 400."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.schemas.safe_json import MAX_JSON_DEPTH
from tests.conftest import Persona
from tests.security.conftest import Targets, json_request

DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000
DEEP_ARRAY = "[" * 10_000 + "]" * 10_000


def _nested(levels: int, prefix: str = "") -> str:
    """A body `levels` deep in all: the top-level object holds `text`, nested the rest."""
    return "{" + prefix + '"text": ' + '{"a": ' * (levels - 1) + "1" + "}" * levels


Endpoint = tuple[str, str, Callable[[Targets], str]]
# Every JSON endpoint that reads a body, as the persona allowed to call it.
LEAD_ENDPOINTS: list[Endpoint] = [
    ("post", "queues", lambda t: "/api/v1/queues"),
    ("patch", "queue", lambda t: f"/api/v1/queues/{t.queue.pk}"),
    ("post", "adjudication", lambda t: f"/api/v1/items/{t.item.pk}/adjudication"),
    ("post", "guidelines", lambda t: "/api/v1/guidelines"),
    ("post", "checks", lambda t: "/api/v1/checks"),
    ("patch", "check", lambda t: f"/api/v1/checks/{t.check_id}"),
    ("post", "exports", lambda t: "/api/v1/exports"),
    ("post", "agreement", lambda t: f"/api/v1/queues/{t.queue.pk}/agreement"),
]
ANNOTATOR_ENDPOINTS: list[Endpoint] = [
    ("post", "annotate", lambda t: f"/api/v1/items/{t.item.pk}/annotations"),
    ("patch", "annotation", lambda t: f"/api/v1/annotations/{t.annotation.pk}"),
]


@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY], ids=["object", "array"])
@pytest.mark.parametrize(
    ("method", "name", "url"), LEAD_ENDPOINTS, ids=[e[1] for e in LEAD_ENDPOINTS]
)
def test_it_refuses_deep_json_on_every_lead_endpoint(
    lead: Persona, targets: Targets, method: str, name: str, url: Any, body: str
) -> None:
    response = json_request(lead.client(), method, url(targets), body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deep"
    assert str(MAX_JSON_DEPTH) in response.json()["error"]["message"]


@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY], ids=["object", "array"])
@pytest.mark.parametrize(
    ("method", "name", "url"), ANNOTATOR_ENDPOINTS, ids=[e[1] for e in ANNOTATOR_ENDPOINTS]
)
def test_it_refuses_deep_json_on_the_annotator_endpoints(
    annotator: Persona, targets: Targets, method: str, name: str, url: Any, body: str
) -> None:
    response = json_request(annotator.client(), method, url(targets), body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deep"


@pytest.mark.parametrize("url", ["/api/v1/interactions", "/api/v1/feedback"])
@pytest.mark.parametrize(
    "body",
    [
        DEEP_OBJECT,
        '{"items": [' + DEEP_OBJECT + "]}",
        '{"items": [{"metadata": ' + DEEP_ARRAY + "}]}",
    ],
    ids=["object", "batch", "metadata"],
)
def test_ingestion_refuses_deep_json(ingest_client: APIClient, url: str, body: str) -> None:
    response = json_request(ingest_client, "post", url, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deep"


def test_ingestion_refuses_a_deep_top_level_array_as_not_an_object(
    ingest_client: APIClient,
) -> None:
    response = json_request(ingest_client, "post", "/api/v1/interactions", DEEP_ARRAY)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


def test_ingestion_refuses_metadata_just_past_the_limit(ingest_client: APIClient) -> None:
    metadata: Any = 1
    for _ in range(MAX_JSON_DEPTH):
        metadata = {"a": metadata}
    body = {"request_id": "req-1", "prompt": "p", "response": "r", "metadata": metadata}

    response = json_request(ingest_client, "post", "/api/v1/interactions", _dumps(body))

    assert response.status_code == 400
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"].startswith("metadata.a.a")
    assert "nested more than 64 levels" in error["message"]


def test_ingestion_takes_metadata_nested_within_the_limit(ingest_client: APIClient) -> None:
    metadata: Any = 1
    for _ in range(MAX_JSON_DEPTH - 2):
        metadata = {"a": metadata}
    body = {"request_id": "req-1", "prompt": "p", "response": "r", "metadata": metadata}

    response = json_request(ingest_client, "post", "/api/v1/interactions", _dumps(body))

    assert response.status_code == 201


def test_the_limit_is_64_levels(lead: Persona, targets: Targets) -> None:
    url = "/api/v1/guidelines"
    project = '"project": "support-bot", '

    over = json_request(lead.client(), "post", url, _nested(MAX_JSON_DEPTH + 1, project))
    within = json_request(lead.client(), "post", url, _nested(MAX_JSON_DEPTH, project))

    assert over.json()["error"]["code"] == "too_deep"
    assert over.json()["error"]["details"]["field"].startswith("text.a.a")
    # Deep but allowed: refused by the schema for what it says, not for its depth.
    assert within.status_code == 400
    assert within.json()["error"]["code"] != "too_deep"


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value)
