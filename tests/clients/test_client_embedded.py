"""The Python client against the embedded server (`make demo`: SQLite, eager Celery)."""

from __future__ import annotations

from typing import Any

from feedbackloop_client import Client

from annotation.models import Feedback, Interaction
from annotation.services.projects import project_create


def test_the_client_sends_to_the_embedded_server(live_server: Any) -> None:
    key = project_create(name="embedded-bot").secret

    with Client(live_server.url, key, batch_size=20, flush_interval=0.05) as client:
        for n in range(30):
            request_id = client.log_interaction(
                request_id=f"e-{n}", prompt=f"Question {n}?", response=f"Answer {n}."
            )
            client.log_feedback(request_id=request_id, kind="rating", value=1, scale="thumbs")
        assert client.flush(timeout=60)

    assert client.stats.created == 60
    assert Interaction.objects.count() == 30
    assert Feedback.objects.filter(interaction__isnull=False).count() == 30
