"""The beat tick runs on a real Celery worker that consumes only the `alerts` queue (Redis), so
nothing on the heavy queue stands before it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from django.utils import timezone

from annotation.alerts.windows import floor_hour
from annotation.models import Alert, Project, SliceRollup
from annotation.tasks.alerts import evaluate_alerts
from feedbackloop.celery import app as celery_app
from tests.alerts.rollups import SLICE, make_rule

pytestmark = pytest.mark.integration


@pytest.fixture
def alerts_worker(transactional_db: Any) -> Iterator[WorkController]:
    assert celery_app.conf.broker_url.startswith("redis://"), "integration tests need Redis"
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=1,
        perform_ping_check=False,
        queues=["alerts"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


def test_a_worker_of_the_alerts_queue_alone_evaluates_the_rules(
    alerts_worker: WorkController, project: Project
) -> None:
    rule = make_rule(project, metric="volume", condition_value=0, min_count=1)
    SliceRollup.objects.create(
        project=project, hour=floor_hour(timezone.now()), **SLICE, interactions=7
    )
    result = evaluate_alerts.delay().get(timeout=60)
    assert result == {"rules": 1, "fired": 1, "resolved": 0, "failed": 0}
    alert = Alert.objects.get()
    assert (alert.rule, alert.count) == (rule, 7)
