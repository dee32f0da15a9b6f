from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Flag, Interaction
from annotation.services.projects import project_create
from annotation.tasks.checks import sweep_unchecked

pytestmark = pytest.mark.integration


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


def test_ingestion_to_worker_to_flag(celery_worker: Any) -> None:
    created = project_create(name="e2e-bot")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    items = [
        {
            "request_id": "leak",
            "prompt": "Who to call?",
            "response": "Call Dana on +1 415 555 0132.",
        },
        {"request_id": "rude", "prompt": "Help", "response": "Read the docs, idiot."},
        {"request_id": "fine", "prompt": "Help", "response": "Open Settings, then Security."},
    ]

    response = client.post("/api/v1/interactions", {"items": items}, format="json")

    assert response.status_code == 201
    wait_for(lambda: not Interaction.objects.filter(checked_at__isnull=True).exists())
    flags = set(Flag.objects.values_list("interaction__request_id", "check_config__name"))
    assert flags == {("leak", "pii"), ("rude", "blocklist")}


def test_the_sweep_checks_what_ingestion_could_not_queue(celery_worker: Any, settings: Any) -> None:
    created = project_create(name="sweep-bot")
    project = created.obj.project
    from django.utils import timezone

    # Stored while the broker was unreachable: nothing was queued for it.
    Interaction.objects.create(
        project=project,
        request_id="orphan",
        timestamp=timezone.now(),
        received_at=timezone.now() - timedelta(minutes=10),
        messages=[{"role": "user", "content": "Email?"}],
        response="It is kim@example.org",
    )

    assert sweep_unchecked.delay().get(timeout=30) == 1

    wait_for(lambda: Interaction.objects.get(request_id="orphan").checked_at is not None)
    assert Flag.objects.get().check_config.name == "pii"
