"""With a real Celery worker (Redis broker, PostgreSQL): retries wait their backoff as task
countdowns, and the evaluation tick returns at once while a slow receiver holds a send task."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController

from annotation.models import Project, Webhook, WebhookDelivery
from annotation.services.deliveries import deliveries_enqueue
from annotation.services.projects import project_create
from annotation.services.trigger_config import trigger_create
from annotation.services.triggers import triggers_evaluate
from feedbackloop.celery import app as celery_app
from tests.actions.conftest import make_webhook
from tests.actions.receiver import Receiver, Reply
from tests.actions.triggers_data import Examples
from tests.integration.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerts_worker(transactional_db: Any) -> Iterator[WorkController]:
    """A worker on the queues deliveries and trigger builds use, in a thread."""
    assert celery_app.conf.broker_url.startswith("redis://"), "integration tests need Redis"
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=["alerts", "heavy"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.fixture
def live_project(transactional_db: Any) -> Project:
    return project_create(name="live").obj.project


def test_a_5xx_is_retried_after_its_backoff_by_the_worker(
    alerts_worker: WorkController, live_project: Project, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_BACKOFF_SECONDS = 1.0
    receiver.script(Reply(status=502), Reply(status=500))
    webhook = make_webhook(live_project, receiver.url)

    [delivery] = deliveries_enqueue(webhooks=[webhook], event="alert.fired", payload={})

    wait_for(
        lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="delivered").exists(),
        "the delivery to succeed on its third attempt",
        timeout=30,
    )
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)
    first, second, third = (r.at for r in receiver.received)
    assert second - first >= 0.5  # half of base * 2**0 at least
    assert third - second >= 1.0  # half of base * 2**1 at least


def test_the_tick_never_waits_for_a_slow_receiver(
    alerts_worker: WorkController, live_project: Project, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_BACKOFF_SECONDS = 0.5
    receiver.script(Reply(delay=3.0))  # longer than the timeout; then it answers 200
    webhook: Webhook = make_webhook(live_project, receiver.url)
    examples = Examples(live_project)
    trigger_create(
        project=live_project,
        created_by=None,
        data={
            "name": "nightly",
            "export": {"kind": "sft", "filters": {"queues": [examples.queue_id]}},
            "min_new_examples": 2,
            "webhooks": [webhook.pk],
        },
    )
    examples.add(2)

    [run] = triggers_evaluate()

    # The tick wrote its run and returned; the build and the send (which cannot end before the
    # 1 s timeout) are other tasks, still under way.
    assert not WebhookDelivery.objects.filter(webhook=webhook).exclude(status="pending").exists()
    receiver.arrived.wait(timeout=30)
    timed_out = wait_for(
        lambda: WebhookDelivery.objects.filter(
            webhook=webhook, status="retrying", error__contains="did not answer in time"
        ).first(),
        "the slow attempt to time out",
        timeout=30,
    )
    assert timed_out.latency_ms is not None and timed_out.latency_ms >= 900
    wait_for(
        lambda: WebhookDelivery.objects.filter(webhook=webhook, status="delivered").exists(),
        "the retry to be delivered",
        timeout=30,
    )
    body = receiver.received[-1].json()
    assert body["event"] == "trigger.fired" and body["trigger"]["run"] == run.pk
