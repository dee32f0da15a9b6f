from __future__ import annotations

from typing import Any

import pytest

from annotation.models import FillStatus, QueueFill, QueueItem
from annotation.services.projects import project_create
from annotation.services.queues import queue_create, queue_fill_request, queues_fill_due
from feedbackloop.celery import app as celery_app
from tests.factories import REVIEW_SCHEMA
from tests.review.data import interaction, rating

pytestmark = pytest.mark.integration


def test_the_worker_fills_a_queue_and_records_counts_by_reason(celery_worker: Any) -> None:
    project = project_create(name="fill-bot").obj.project
    for n in range(4):
        rating(interaction(project, f"low-{n}"), 0.0)
    interaction(project, "fine")
    queue = queue_create(
        project=project, name="review", sources=[{"type": "low_rated"}], schema=REVIEW_SCHEMA
    )

    fill = queue_fill_request(queue=queue)
    result = celery_app.AsyncResult(fill.task_id).get(timeout=30)

    fill = QueueFill.objects.get(pk=fill.pk)
    assert result["added"] == 4
    assert (fill.status, fill.added, fill.by_reason) == (FillStatus.DONE, 4, {"low_rated": 4})
    assert QueueItem.objects.filter(queue=queue).count() == 4


def test_the_beat_tick_fills_queues_whose_schedule_is_due(celery_worker: Any) -> None:
    project = project_create(name="beat-bot").obj.project
    rating(interaction(project, "low"), 0.0)
    due = queue_create(
        project=project,
        name="hourly",
        sources=[{"type": "low_rated"}],
        schema=REVIEW_SCHEMA,
        fill_every_minutes=60,
    )
    queue_create(
        project=project, name="manual", sources=[{"type": "low_rated"}], schema=REVIEW_SCHEMA
    )

    (fill_id,) = queues_fill_due()
    fill = QueueFill.objects.get(pk=fill_id)
    celery_app.AsyncResult(fill.task_id).get(timeout=30)

    fill.refresh_from_db()
    due.refresh_from_db()
    assert fill.queue_id == due.pk
    assert (fill.status, fill.trigger, fill.added) == (FillStatus.DONE, "schedule", 1)
    assert due.next_fill_at is not None
    assert queues_fill_due() == []
