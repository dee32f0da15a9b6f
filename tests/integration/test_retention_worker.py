"""Retention through a real Celery worker that consumes only `heavy`, where beat's task goes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from annotation.models import Interaction
from annotation.models.privacy import RetentionRun
from annotation.services.projects import project_create
from annotation.tasks.privacy import enforce_retention
from feedbackloop.celery import app as celery_app
from tests.factories import InteractionFactory

pytestmark = pytest.mark.integration


def test_a_worker_on_the_heavy_queue_alone_enforces_retention(transactional_db: Any) -> None:
    project = project_create(name="short-memory").obj.project
    project.retention_days = 1
    project.save(update_fields=["retention_days"])
    InteractionFactory(project=project, timestamp=timezone.now() - timedelta(days=3))
    InteractionFactory(project=project, timestamp=timezone.now())

    with start_worker(
        celery_app,
        pool="threads",
        concurrency=1,
        perform_ping_check=False,
        queues=["heavy"],
        shutdown_timeout=30,
    ):
        result = enforce_retention.apply_async()
        counts = result.get(timeout=60)

    assert counts["short-memory"]["interactions"] == 1
    assert Interaction.objects.count() == 1
    assert RetentionRun.objects.get().counts["interactions"] == 1
