"""Bodies over MAX_REQUEST_BYTES got Django's HTML 400 (or were read whole by DRF): now a JSON 413
on the API and a 413 page for forms, before anything reads them."""

from __future__ import annotations

import json

from django.test import Client, override_settings
from rest_framework.test import APIClient

from annotation.models import Guideline, Interaction, Queue
from tests.conftest import Persona

LIMIT = 4096
BIG = "x" * (LIMIT + 1)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=LIMIT)
def test_an_api_body_over_the_limit_is_a_json_413(lead: Persona) -> None:
    body = json.dumps({"project": "support-bot", "name": "q", "description": BIG})

    response = lead.client().post("/api/v1/queues", body, content_type="application/json")

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["details"] == {"field": "body", "max_bytes": LIMIT}
    assert "MAX_REQUEST_BYTES" in error["message"]
    assert not Queue.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=LIMIT)
def test_an_ingestion_body_over_the_limit_is_a_json_413(ingest_client: APIClient) -> None:
    body = json.dumps({"request_id": "req-1", "prompt": "p", "response": BIG})

    response = ingest_client.post("/api/v1/interactions", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Interaction.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=LIMIT)
def test_a_body_within_the_limit_is_read(ingest_client: APIClient) -> None:
    body = json.dumps({"request_id": "req-1", "prompt": "p", "response": "x" * 1000})

    response = ingest_client.post("/api/v1/interactions", body, content_type="application/json")

    assert response.status_code == 201


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=LIMIT)
def test_a_form_over_the_limit_is_a_413_page(lead: Persona) -> None:
    client = Client()
    client.force_login(lead.user)

    response = client.post("/lead/projects/support-bot/guidelines", {"text": BIG})

    assert response.status_code == 413
    assert "Too large" in response.content.decode()
    assert not Guideline.objects.exists()
