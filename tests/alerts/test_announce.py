"""A firing or resolution reaches the rule's webhooks (a real receiver on 127.0.0.1) and a firing
starts its pipeline triggers; the tick runs on the alerts queue, and by manage.py evaluate_alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotation.alerts.windows import floor_hour
from annotation.models import (
    Alert,
    Project,
    SliceRollup,
    TriggerRun,
    Webhook,
    WebhookDelivery,
)
from annotation.services.alerts import alerts_evaluate
from annotation.services.trigger_config import trigger_create
from annotation.services.webhooks import webhook_create
from feedbackloop.celery import app as celery_app
from tests.actions.receiver import Receiver, serve
from tests.actions.triggers_data import Examples
from tests.alerts.rollups import NOW, SLICE, make_rule, put

pytestmark = pytest.mark.django_db
SECRET = "whsec_test-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _outbound(settings: Any, tmp_path: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


@pytest.fixture
def webhook(project: Project, receiver: Receiver) -> Webhook:
    hook, _ = webhook_create(
        project=project, created_by=None, data={"name": "ci", "url": receiver.url, "secret": SECRET}
    )
    return hook


def test_a_firing_and_its_resolution_are_delivered_signed(
    project: Project, webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    rule = make_rule(project, filters={"model_version": ["1.4.0"]})
    rule.webhooks.set([webhook])
    put(project, -1, rated=100, negative=90)
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(now=NOW)
    alert = Alert.objects.get()
    fired = WebhookDelivery.objects.get(event="alert.fired")
    assert fired.webhook == webhook and fired.status == "delivered"
    assert len(receiver.received) == 1
    body = receiver.received[0].json()
    assert receiver.verified(SECRET, receiver.received[0])
    assert body["event"] == "alert.fired"
    assert body["alert"]["rule"] == "spike" and body["alert"]["metric"] == "negative_feedback_rate"
    assert body["alert"]["value"] == pytest.approx(0.9)
    assert body["alert"]["window"] == ["2026-11-20T09:00:00Z", "2026-11-20T10:20:00Z"]
    assert body["alert"]["url"] == f"http://testserver/lead/projects/support-bot/alerts/{alert.pk}"
    # Still holding: nothing more is sent.
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(now=NOW + timedelta(minutes=1))
    assert WebhookDelivery.objects.count() == 1
    put(project, 0, rated=900, negative=0)
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(now=NOW + timedelta(minutes=2))
    resolved = WebhookDelivery.objects.get(event="alert.resolved")
    assert resolved.payload["alert"]["state"] == "resolved"
    assert [item.json()["event"] for item in receiver.received] == ["alert.fired", "alert.resolved"]


def test_nothing_is_sent_before_the_commit(
    project: Project, webhook: Webhook, django_capture_on_commit_callbacks: Any
) -> None:
    make_rule(project).webhooks.set([webhook])
    put(project, -1, rated=100, negative=90)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alerts_evaluate(now=NOW)
    assert Alert.objects.count() == 1 and WebhookDelivery.objects.count() == 0
    assert len(callbacks) == 1


def test_a_firing_starts_the_rules_triggers(
    project: Project, webhook: Webhook, django_capture_on_commit_callbacks: Any
) -> None:
    examples = Examples(project)
    examples.add(2)
    trigger = trigger_create(
        project=project,
        created_by=None,
        data={
            "name": "retrain",
            "export": {
                "kind": "sft",
                "format": "jsonl",
                "filters": {"queues": [examples.queue_id]},
            },
            "min_new_examples": 500,
            "webhooks": [webhook.pk],
        },
    )
    make_rule(project).triggers.set([trigger])
    put(project, -1, rated=100, negative=90)
    with django_capture_on_commit_callbacks(execute=True):
        alerts_evaluate(now=NOW)
    run = TriggerRun.objects.get()
    assert run.trigger == trigger and run.reason == "alert"
    assert run.alert_id == Alert.objects.get().pk
    assert run.example_count == 2


def test_the_tick_runs_on_the_alerts_queue_every_minute(settings: Any) -> None:
    route = celery_app.amqp.router.route({}, "annotation.tasks.alerts.evaluate_alerts", (), {})
    assert route["queue"].name == "alerts"
    entry = settings.CELERY_BEAT_SCHEDULE["evaluate-alerts"]
    assert entry["task"] == "annotation.tasks.alerts.evaluate_alerts"
    assert entry["schedule"] == 60.0
    assert "alerts" in settings.CELERY_TASK_QUEUES


def _traffic_now(project: Project) -> None:
    """Interactions in the current hour (the task and the command evaluate at the real now)."""
    SliceRollup.objects.create(
        project=project, hour=floor_hour(timezone.now()), **SLICE, interactions=5
    )


def test_the_beat_task_evaluates_the_rules(project: Project) -> None:
    from annotation.tasks.alerts import evaluate_alerts

    make_rule(project, metric="volume", condition_value=0, min_count=1)
    _traffic_now(project)
    assert evaluate_alerts.delay().get() == {"rules": 1, "fired": 1, "resolved": 0, "failed": 0}
    assert Alert.objects.get().count == 5


def test_the_command_evaluates_rules_and_triggers(project: Project) -> None:
    rule = make_rule(project, metric="volume", condition_value=0, min_count=1)
    _traffic_now(project)
    out = StringIO()
    call_command("evaluate_alerts", stdout=out)
    text = out.getvalue()
    assert "Alert rules: evaluated 1, fired 1, resolved 0." in text
    assert "Triggers: 0 run(s) started." in text
    rule.refresh_from_db()
    assert rule.last_evaluated_at is not None
    assert Alert.objects.get().rule == rule
