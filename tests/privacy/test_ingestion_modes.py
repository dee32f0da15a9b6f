"""Each privacy mode end to end through every ingestion path: API, OTLP, widget."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from annotation.models import Feedback, Interaction, PrivacyMode, Project
from annotation.schemas.ingestion import InteractionIn
from annotation.services.ingestion import interactions_ingest
from annotation.services.secrets import pseudonymise
from annotation.services.widget import widget_key_create
from tests.privacy.conftest import CARD, EMAIL, PHONE, every_row, interaction, post

pytestmark = pytest.mark.django_db

RAW = (EMAIL, PHONE, CARD, "jane.doe", "7946 0958")


def _personal(request_id: str = "req-1") -> dict[str, Any]:
    return interaction(
        request_id,
        messages=[
            {"role": "system", "content": "You are the support agent."},
            {"role": "user", "content": f"I am {EMAIL}, call me on {PHONE}."},
        ],
        response=f"Thanks, I will e-mail {EMAIL} today.",
        retrieved_context=[{"id": "kb-1", "text": f"Card on file: {CARD}", "score": 0.5}],
        metadata={"contact": {"email": EMAIL}, "tags": [f"phone {PHONE}"], "n": 3},
        user_id=EMAIL,
    )


def _redacting(project: Project) -> Project:
    project.privacy_mode = PrivacyMode.REDACT
    project.save(update_fields=["privacy_mode"])
    return project


def test_store_mode_keeps_the_text_as_sent_but_never_the_user_id(
    project: Project, ingest_client: APIClient
) -> None:
    assert post(ingest_client, "/api/v1/interactions", _personal()).status_code == 201

    stored = Interaction.objects.get()
    assert stored.messages[1]["content"] == f"I am {EMAIL}, call me on {PHONE}."
    assert stored.redactions is None
    assert stored.user_id == pseudonymise(EMAIL)
    assert EMAIL in stored.response


def test_redact_mode_stores_typed_placeholders_and_only_the_kinds(
    project: Project,
    ingest_client: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _redacting(project)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(ingest_client, "/api/v1/interactions", _personal())
        feedback = post(
            ingest_client,
            "/api/v1/feedback",
            {
                "items": [
                    {"request_id": "req-1", "kind": "comment", "text": f"Write to {EMAIL}"},
                    {"request_id": "req-1", "kind": "correction", "text": f"Call {PHONE}."},
                    {
                        "request_id": "req-1",
                        "kind": "rating",
                        "value": 0,
                        "scale": "thumbs",
                        "metadata": {"note": f"from {EMAIL}"},
                        "user_id": EMAIL,
                    },
                ]
            },
        )

    assert response.status_code == 201
    assert feedback.status_code == 201
    stored = Interaction.objects.get()
    assert stored.messages[1]["content"] == "I am [EMAIL], call me on [PHONE]."
    assert stored.messages[0]["content"] == "You are the support agent."
    assert stored.response == "Thanks, I will e-mail [EMAIL] today."
    assert stored.retrieved_context[0]["text"] == "Card on file: [PAYMENT_CARD]"
    assert stored.metadata == {"contact": {"email": "[EMAIL]"}, "tags": ["phone [PHONE]"], "n": 3}
    assert stored.redactions["kinds"] == {"email": 3, "payment_card": 1, "phone": 2}
    # Where each placeholder stands now, and its kind: the reviewer's view of the spans.
    span = stored.redactions["spans"]["response"][0]
    assert span["kind"] == "email"
    assert stored.response[span["start"] : span["end"]] == "[EMAIL]"
    assert set(stored.redactions["spans"]) == {
        "messages[1].content",
        "response",
        "retrieved_context[0].text",
        "metadata.contact.email",
        "metadata.tags[0]",
    }
    texts = dict(Feedback.objects.values_list("kind", "text"))
    assert texts["comment"] == "Write to [EMAIL]"
    assert texts["correction"] == "Call [PHONE]."
    rating = Feedback.objects.get(kind="rating")
    assert rating.metadata == {"note": "from [EMAIL]"}
    assert rating.redactions["kinds"] == {"email": 1}
    # Nothing raw in any table: interactions, feedback, flags, rollups, anything else.
    dump = every_row()
    for raw in RAW:
        assert raw not in dump
    assert json.dumps(EMAIL) not in dump


def test_redact_mode_records_a_scan_that_found_nothing(
    project: Project, ingest_client: APIClient
) -> None:
    _redacting(project)

    post(ingest_client, "/api/v1/interactions", interaction("req-1"))

    stored = Interaction.objects.get()
    assert stored.redactions == {"mode": "redact", "kinds": {}, "spans": {}}
    assert stored.response == "Open Settings, then Security."


def test_a_plain_prompt_is_redacted_as_the_user_turn(
    project: Project, ingest_client: APIClient
) -> None:
    _redacting(project)
    body = interaction("req-1", prompt=f"Mail {EMAIL}")
    del body["messages"]

    post(ingest_client, "/api/v1/interactions", body)

    stored = Interaction.objects.get()
    assert stored.messages == [{"role": "user", "content": "Mail [EMAIL]"}]
    assert stored.redactions["spans"]["messages[0].content"] == [
        {"start": 5, "end": 12, "kind": "email"}
    ]


def test_drop_prompt_mode_keeps_the_response_only(
    project: Project, ingest_client: APIClient
) -> None:
    project.privacy_mode = PrivacyMode.DROP_PROMPT
    project.save(update_fields=["privacy_mode"])

    response = post(ingest_client, "/api/v1/interactions", _personal())

    assert response.status_code == 201
    stored = Interaction.objects.get()
    assert stored.messages == []
    assert stored.retrieved_context == []
    assert stored.response == f"Thanks, I will e-mail {EMAIL} today."
    assert stored.redactions == {
        "mode": "drop_prompt",
        "dropped": ["messages", "retrieved_context"],
    }
    dump = every_row()
    assert "call me on" not in dump
    assert CARD not in dump


def test_the_interaction_read_back_shows_placeholders(
    project: Project, ingest_client: APIClient
) -> None:
    _redacting(project)
    post(ingest_client, "/api/v1/interactions", _personal())

    body = ingest_client.get("/api/v1/interactions/req-1").json()

    assert EMAIL not in json.dumps(body)
    assert body["response"] == "Thanks, I will e-mail [EMAIL] today."
    assert body["redactions"]["kinds"] == {"email": 3, "payment_card": 1, "phone": 2}


def test_otlp_spans_are_redacted_before_they_are_stored(
    project: Project, ingest_client: APIClient
) -> None:
    _redacting(project)
    attributes = {
        "gen_ai.request.model": "gpt-x",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": f"My mail is {EMAIL}",
        "gen_ai.completion.0.content": f"Noted: {PHONE}",
        "user.id": "u-otlp",
    }
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "chat",
        "kind": 3,
        "startTimeUnixNano": "1795000000000000000",
        "endTimeUnixNano": "1795000000840000000",
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
    }
    document = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "t"}, "spans": [span]}]}]}

    response = ingest_client.generic(
        "POST", "/api/v1/otlp/v1/traces", json.dumps(document), content_type="application/json"
    )

    assert response.status_code == 200
    stored = Interaction.objects.get()
    assert stored.messages == [{"role": "user", "content": "My mail is [EMAIL]"}]
    assert stored.response == "Noted: [PHONE]"
    assert stored.user_id == pseudonymise("u-otlp")
    assert stored.redactions["kinds"] == {"email": 1, "phone": 1}
    dump = every_row()
    assert EMAIL not in dump and PHONE not in dump and "u-otlp" not in dump


def test_widget_feedback_is_redacted_before_it_is_stored(project: Project) -> None:
    cache.clear()
    _redacting(project)
    app = "https://app.example.com"
    client = APIClient()
    key = widget_key_create(project=project, origins=[app]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ORIGIN=app)

    response = client.post(
        "/api/v1/widget/feedback",
        {"request_id": "req-1", "kind": "comment", "text": f"Reach me at {EMAIL}"},
        format="json",
    )

    assert response.status_code == 201
    stored = Feedback.objects.get()
    assert stored.text == "Reach me at [EMAIL]"
    assert stored.redactions["kinds"] == {"email": 1}
    assert EMAIL not in every_row()


def test_the_service_path_used_by_imports_redacts_too(project: Project) -> None:
    _redacting(project)
    item = InteractionIn(request_id="imp-1", prompt=f"I am {EMAIL}", response="ok")

    interactions_ingest(project=project, items=[item])

    assert Interaction.objects.get().messages[0]["content"] == "I am [EMAIL]"
