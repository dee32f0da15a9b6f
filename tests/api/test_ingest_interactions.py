from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Feedback, Interaction
from annotation.services.secrets import pseudonymise
from tests.conftest import KeyedProject

URL = "/api/v1/interactions"


def interaction(request_id: str = "req-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": request_id,
        "timestamp": "2026-11-20T10:00:00Z",
        "model": "gpt-x",
        "model_version": "2026-10-01",
        "prompt_template": "support_answer",
        "prompt_template_version": "3",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "How do I reset my password?"},
        ],
        "response": "Open Settings, then Security.",
        "retrieved_context": [{"id": "kb-7", "text": "Reset…", "score": 0.82, "source": "kb"}],
        "user_id": "u-42",
        "session_id": "s-9",
        "experiment": "tone-test",
        "variant": "B",
        "latency_ms": 840,
        "tokens_in": 312,
        "tokens_out": 150,
        "cost": 0.0012,
        "metadata": {"locale": "en-GB"},
    }
    body.update(overrides)
    return body


def post(client: APIClient, body: Any) -> Any:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, raw, content_type="application/json")


def test_it_stores_one_interaction_with_every_field(ingest_client: APIClient) -> None:
    response = post(ingest_client, interaction())

    assert response.status_code == 201
    assert response.json() == {"created": 1, "duplicates": [], "errors": []}
    stored = Interaction.objects.get(request_id="req-1")
    assert stored.model_version == "2026-10-01"
    assert stored.prompt_template_version == "3"
    assert stored.messages[1] == {"role": "user", "content": "How do I reset my password?"}
    assert stored.retrieved_context == [
        {"id": "kb-7", "text": "Reset…", "score": 0.82, "source": "kb"}
    ]
    assert stored.experiment == "tone-test" and stored.variant == "B"
    assert stored.latency_ms == 840 and stored.tokens_in == 312 and stored.tokens_out == 150
    assert stored.cost == pytest.approx(0.0012)
    assert stored.metadata == {"locale": "en-GB"}
    assert stored.timestamp.isoformat() == "2026-11-20T10:00:00+00:00"


def test_it_never_stores_the_raw_user_id(ingest_client: APIClient) -> None:
    post(ingest_client, interaction(user_id="alice@example.com"))

    stored = Interaction.objects.get()
    assert stored.user_id == pseudonymise("alice@example.com")
    assert "alice" not in stored.user_id
    assert len(stored.user_id) == 32


def test_it_accepts_a_plain_prompt(ingest_client: APIClient) -> None:
    body = interaction()
    del body["messages"]
    body["prompt"] = "What is 2+2?"

    assert post(ingest_client, body).status_code == 201
    assert Interaction.objects.get().messages == [{"role": "user", "content": "What is 2+2?"}]


def test_it_defaults_the_timestamp_to_arrival(ingest_client: APIClient) -> None:
    body = interaction()
    del body["timestamp"]

    post(ingest_client, body)

    stored = Interaction.objects.get()
    assert stored.timestamp == stored.received_at


def test_it_is_idempotent_on_request_id(ingest_client: APIClient) -> None:
    post(ingest_client, interaction(response="first"))

    response = post(ingest_client, interaction(response="second"))

    assert response.status_code == 200
    assert response.json() == {"created": 0, "duplicates": ["req-1"], "errors": []}
    assert Interaction.objects.get().response == "first"


def test_it_stores_a_batch_and_reports_repeats_within_it(ingest_client: APIClient) -> None:
    items = [interaction(f"req-{n}") for n in range(5)] + [interaction("req-0")]

    response = post(ingest_client, {"items": items})

    assert response.status_code == 201
    assert response.json() == {"created": 5, "duplicates": ["req-0"], "errors": []}
    assert Interaction.objects.count() == 5


def test_it_stores_the_good_rows_of_a_mixed_batch_and_reports_the_bad(
    ingest_client: APIClient,
) -> None:
    bad_role = interaction("bad-role")
    bad_role["messages"][0]["role"] = "bot"
    no_response = interaction("no-response")
    del no_response["response"]
    items = [interaction("ok-1"), bad_role, interaction("ok-2"), no_response, {"request_id": 7}]

    response = post(ingest_client, {"items": items})

    assert response.status_code == 207
    body = response.json()
    assert body["created"] == 2
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "messages[0].role"),
        (3, "response"),
        (4, "request_id"),
    ]
    assert "bot" in body["errors"][0]["message"]
    assert set(Interaction.objects.values_list("request_id", flat=True)) == {"ok-1", "ok-2"}


def test_it_rejects_a_batch_with_no_valid_row(ingest_client: APIClient) -> None:
    response = post(ingest_client, {"items": [{"request_id": "x"}, {"response": "y"}]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_items"
    assert [e["index"] for e in error["details"]["errors"]] == [0, 1]
    assert not Interaction.objects.exists()


def test_it_links_feedback_that_arrived_first(ingest_client: APIClient) -> None:
    early = ingest_client.post(
        "/api/v1/feedback",
        {"request_id": "req-1", "kind": "rating", "value": 0, "scale": "thumbs"},
        format="json",
    )
    assert early.json()["awaiting_interaction"] == ["req-1"]

    post(ingest_client, interaction("req-1"))

    feedback = Feedback.objects.get()
    assert feedback.interaction == Interaction.objects.get(request_id="req-1")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "empty_body"),
        (b"{not json", 400, "malformed_json"),
        (b"[1, 2]", 400, "invalid_body"),
        (b'{"request_id": "r\xff\xfe", "response": "x", "prompt": "p"}', 400, "invalid_encoding"),
        (json.dumps({"items": []}).encode(), 400, "empty_batch"),
        (json.dumps({"items": {"a": 1}}).encode(), 400, "invalid_body"),
        (json.dumps({"items": [], "extra": 1}).encode(), 400, "invalid_body"),
    ],
)
def test_it_rejects_unreadable_bodies(
    ingest_client: APIClient, body: bytes, status: int, code: str
) -> None:
    response = ingest_client.generic("POST", URL, body, content_type="application/json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"tokens_in": -1}, "tokens_in"),
        ({"surprise": True}, "surprise"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": "has space"}, "request_id"),
        ({"response": "x" * 1_000_001}, "response"),
        ({"model": "m" * 256}, "model"),
        ({"timestamp": "2026-11-20T10:00:00"}, "timestamp"),
        ({"messages": []}, "messages"),
        ({"prompt": "both"}, "prompt"),
        ({"metadata": {"blob": "x" * 70_000}}, "metadata"),
        ({"retrieved_context": [{"id": "d1"}]}, "retrieved_context[0].text"),
    ],
)
def test_it_names_the_field_of_a_bad_row(
    ingest_client: APIClient, override: dict[str, Any], field: str
) -> None:
    response = post(ingest_client, interaction(**override))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["details"]["errors"][0]["field"] == field
    assert not Interaction.objects.exists()


def test_it_refuses_more_than_1000_items(ingest_client: APIClient) -> None:
    items = [{"request_id": f"r{n}", "prompt": "p", "response": "r"} for n in range(1001)]

    response = post(ingest_client, {"items": items})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_items"
    assert response.json()["error"]["details"] == {"max_items": 1000, "received": 1001}
    assert not Interaction.objects.exists()


def test_it_takes_exactly_1000_items(ingest_client: APIClient) -> None:
    items = [{"request_id": f"r{n}", "prompt": "p", "response": "r"} for n in range(1000)]

    assert post(ingest_client, {"items": items}).json()["created"] == 1000


def test_it_refuses_a_body_that_is_not_json(ingest_client: APIClient) -> None:
    response = ingest_client.post(
        URL, "request_id=x", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_it_refuses_requests_without_a_key(db: Any) -> None:
    response = post(APIClient(), interaction())

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_it_refuses_an_unknown_key(db: Any, keyed_project: KeyedProject) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer flk_00000000_not-a-real-key")

    response = post(client, interaction())

    assert response.status_code == 401
    assert "project key" in response.json()["error"]["message"]
    assert not Interaction.objects.exists()


def test_it_refuses_a_user_token_for_ingestion(ingest_client: APIClient, lead: Any) -> None:
    response = post(lead.client(), interaction())

    assert response.status_code in (401, 403)
    assert "project key" in response.json()["error"]["message"]


def test_a_key_writes_only_its_own_project(
    keyed_project: KeyedProject, other_keyed_project: KeyedProject
) -> None:
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_keyed_project.key}")
    mine = APIClient()
    mine.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed_project.key}")

    post(mine, interaction("req-1", response="mine"))
    response = post(other, interaction("req-1", response="theirs"))

    # The same request_id in another project is another interaction, not a duplicate.
    assert response.json()["created"] == 1
    assert Interaction.objects.get(project=keyed_project.project).response == "mine"
    assert Interaction.objects.get(project=other_keyed_project.project).response == "theirs"


def test_a_revoked_key_is_refused(keyed_project: KeyedProject, ingest_client: APIClient) -> None:
    from django.utils import timezone

    keyed_project.project.keys.update(revoked_at=timezone.now())

    assert post(ingest_client, interaction()).status_code == 401


def test_a_batch_mixing_stored_and_new_ids_stores_only_the_new(ingest_client: APIClient) -> None:
    post(ingest_client, {"items": [interaction("a", response="old"), interaction("b")]})

    response = post(
        ingest_client,
        {"items": [interaction("c"), interaction("a", response="new"), interaction("d")]},
    )

    assert response.status_code == 201
    assert response.json() == {"created": 2, "duplicates": ["a"], "errors": []}
    assert Interaction.objects.get(request_id="a").response == "old"
    assert Interaction.objects.count() == 4


def test_nul_characters_are_refused_by_field_not_a_500(ingest_client: APIClient) -> None:
    nul_response = interaction("nul-1", response="bad\u0000byte")
    nul_metadata = interaction("nul-2", metadata={"k": "v\u0000"})

    response = post(ingest_client, {"items": [interaction("ok"), nul_response, nul_metadata]})

    assert response.status_code == 207
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (1, "response"),
        (2, "metadata.k"),
    ]
    assert "NUL" in response.json()["errors"][0]["message"]
    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["ok"]
