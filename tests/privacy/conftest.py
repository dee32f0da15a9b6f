"""Shared helpers of the privacy tests: ingestion through the API, and a dump of every table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core import serializers
from rest_framework.test import APIClient

# Values that must never be stored raw when a project redacts.
EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    """Every test's exports in its own folder; plain-HTTP test requests are not redirected."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SECURE_SSL_REDIRECT = False


def post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def interaction(request_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": request_id,
        "timestamp": "2026-11-20T10:00:00Z",
        "model": "gpt-x",
        "model_version": "1.0",
        "messages": [
            {"role": "system", "content": "You are the support agent."},
            {"role": "user", "content": "How do I reset my password?"},
        ],
        "response": "Open Settings, then Security.",
        "user_id": "u-1",
        "session_id": "s-1",
    }
    body.update(overrides)
    return body


def every_row() -> str:
    """Every row of every table of the app, serialised: what 'stored anywhere' means here."""
    dumped = [
        serializers.serialize("json", model._default_manager.all())
        for model in apps.get_app_config("annotation").get_models()
    ]
    return "\n".join(dumped)
