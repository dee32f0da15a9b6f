"""Deliveries to a real receiver: signed, retried with backoff on 5xx and timeouts, logged,
failing webhooks marked without holding up the others, redelivered with the same id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from annotation.errors import Conflict
from annotation.models import DeliveryStatus, Project, Webhook, WebhookDelivery
from annotation.services.deliveries import (
    deliveries_enqueue,
    deliveries_resume,
    delivery_attempt,
    delivery_redeliver,
)
from annotation.services.webhooks import webhook_create
from tests.actions.conftest import SECRET, make_webhook
from tests.actions.receiver import Receiver, Reply

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "alert": {
        "rule": "thumbs-down spike",
        "metric": "negative_feedback_rate",
        "value": 0.41,
        "baseline": 0.12,
        "window": ["2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z"],
    }
}


def enqueue(webhook: Webhook, django_capture_on_commit_callbacks: Any) -> WebhookDelivery:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [delivery] = deliveries_enqueue(webhooks=[webhook], event="alert.fired", payload=PAYLOAD)
    assert len(callbacks) == 1  # the send starts once the rows are committed
    return delivery


def test_a_delivery_is_a_signed_json_post_with_its_id(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = deliveries_enqueue(webhooks=[webhook], event="alert.fired", payload=PAYLOAD)

    [got] = receiver.received
    assert receiver.verified(SECRET, got)
    assert not receiver.verified("whsec_not-the-secret-000000", got)
    assert got.headers["X-Feedbackloop-Delivery"] == str(delivery.delivery_id)
    assert got.headers["Content-Type"] == "application/json"
    body = got.json()
    assert body["event"] == "alert.fired"
    assert body["alert"] == PAYLOAD["alert"]
    assert body["delivery_id"] == str(delivery.delivery_id)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.latency_ms is not None
    assert delivery.delivered_at is not None


def test_5xx_answers_are_retried_with_growing_jittered_backoff_then_delivered(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    receiver.script(Reply(status=500, body=b"boom"), Reply(status=503))
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)

    first = delivery_attempt(delivery_id=delivery.pk, attempt=1)
    delivery.refresh_from_db()
    assert first.status == DeliveryStatus.RETRYING
    assert first.retry_in is not None and 1.0 <= first.retry_in <= 2.0  # base 2 s, jittered
    assert delivery.last_status_code == 500
    assert "boom" in delivery.error
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > timezone.now()

    second = delivery_attempt(delivery_id=delivery.pk, attempt=2)
    assert second.retry_in is not None and 2.0 <= second.retry_in <= 4.0
    third = delivery_attempt(delivery_id=delivery.pk, attempt=3)
    assert third.status == DeliveryStatus.DELIVERED

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert len(receiver.received) == 3
    # Every attempt carries the same delivery id: the receiver can drop repeats.
    assert {r.headers["X-Feedbackloop-Delivery"] for r in receiver.received} == {
        str(delivery.delivery_id)
    }
    webhook.refresh_from_db()
    assert webhook.failing is False


def test_a_repeated_task_sends_once(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)
    assert delivery_attempt(delivery_id=delivery.pk, attempt=1).status == "delivered"
    assert delivery_attempt(delivery_id=delivery.pk, attempt=1).status == "skipped"
    assert len(receiver.received) == 1


def test_a_timeout_is_retried_and_logged(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.script(Reply(delay=2.5))
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)
    outcome = delivery_attempt(delivery_id=delivery.pk, attempt=1)
    delivery.refresh_from_db()
    assert outcome.status == DeliveryStatus.RETRYING
    assert outcome.retry_in is not None
    assert delivery.last_status_code is None
    assert "did not answer in time" in delivery.error
    assert delivery.latency_ms is not None and 900 <= delivery.latency_ms < 2000


def test_a_webhook_that_always_fails_is_marked_failing_and_others_still_get_theirs(
    project: Project, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.actions.receiver import serve

    broken_server = serve()
    broken = next(broken_server)
    broken.default = Reply(status=500)
    try:
        bad = make_webhook(project, broken.url, name="broken")
        good = make_webhook(project, receiver.url, name="good")
        with django_capture_on_commit_callbacks(execute=False):
            rows = deliveries_enqueue(webhooks=[bad, good], event="alert.fired", payload=PAYLOAD)
        by_hook = {row.webhook_id: row for row in rows}
        outcomes = [delivery_attempt(delivery_id=by_hook[bad.pk].pk, attempt=n) for n in (1, 2, 3)]
        assert [o.status for o in outcomes] == ["retrying", "retrying", "failed"]
        assert delivery_attempt(delivery_id=by_hook[good.pk].pk, attempt=1).status == "delivered"
    finally:
        broken_server.close()

    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.failing is True and bad.consecutive_failures == 1 and bad.failing_since
    assert good.failing is False
    failed = WebhookDelivery.objects.get(pk=by_hook[bad.pk].pk)
    assert failed.status == "failed" and failed.attempts == 3
    assert "Gave up after 3 attempts" in failed.error
    assert len(broken.received) == 3 and len(receiver.received) == 1


def test_a_4xx_fails_at_once(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.script(Reply(status=410, body=b"gone"))
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)
    assert delivery_attempt(delivery_id=delivery.pk, attempt=1).status == "failed"
    webhook.refresh_from_db()
    assert webhook.failing is True


def test_a_recovered_webhook_is_no_longer_failing(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    Webhook.objects.filter(pk=webhook.pk).update(
        failing=True, failing_since=timezone.now(), consecutive_failures=4
    )
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)
    delivery_attempt(delivery_id=delivery.pk, attempt=1)
    webhook.refresh_from_db()
    assert (webhook.failing, webhook.failing_since, webhook.consecutive_failures) == (
        False,
        None,
        0,
    )


def test_redelivery_sends_again_with_the_same_id(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.script(Reply(status=400))
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)
    delivery_attempt(delivery_id=delivery.pk, attempt=1)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    first, second = receiver.received
    assert first.headers["X-Feedbackloop-Delivery"] == second.headers["X-Feedbackloop-Delivery"]
    assert first.body == second.body


def test_an_open_delivery_cannot_be_redelivered(
    webhook: Webhook, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict):
        delivery_redeliver(delivery=delivery)


def test_inactive_webhooks_get_nothing(webhook: Webhook) -> None:
    webhook.active = False
    webhook.save()
    assert deliveries_enqueue(webhooks=[webhook], event="alert.fired", payload=PAYLOAD) == []


def test_overdue_deliveries_are_resumed(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = enqueue(webhook, django_capture_on_commit_callbacks)
    assert deliveries_resume() == 0  # not overdue yet
    later = timezone.now() + timezone.timedelta(minutes=10)
    assert deliveries_resume(now=later) == 1  # eager here: sent inline
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_the_slack_format_posts_an_escaped_text_message(
    project: Project, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    slack = make_webhook(project, receiver.url, name="slack", format="slack")
    payload = {"alert": {**PAYLOAD["alert"], "rule": "<!channel> & spike"}}
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_enqueue(webhooks=[slack], event="alert.fired", payload=payload)
    [got] = receiver.received
    body = json.loads(got.body)
    assert body["text"].startswith("Alert fired: &lt;!channel&gt; &amp; spike")
    assert "negative_feedback_rate = 0.41 (baseline 0.12)" in body["text"]
    assert body["blocks"][0]["text"]["type"] == "mrkdwn"
    assert receiver.verified(SECRET, got)


def test_the_email_format_sends_through_the_email_backend(
    project: Project, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    email, _ = webhook_create(
        project=project,
        created_by=None,
        data={"name": "oncall", "format": "email", "email_recipients": ["oncall@example.com"]},
    )
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = deliveries_enqueue(webhooks=[email], event="alert.resolved", payload=PAYLOAD)
    [message] = mailoutbox
    assert message.to == ["oncall@example.com"]
    assert message.subject.startswith("[feedbackloop] Alert resolved: thumbs-down spike")
    assert message.extra_headers["X-Feedbackloop-Delivery"] == str(delivery.delivery_id)
    assert "negative_feedback_rate" in message.body
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_a_name_with_line_breaks_cannot_add_email_headers(
    project: Project, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    email, _ = webhook_create(
        project=project,
        created_by=None,
        data={"name": "oncall", "format": "email", "email_recipients": ["oncall@example.com"]},
    )
    payload = {"alert": {"rule": "spike\r\nBcc: someone@example.net", "metric": "volume"}}
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = deliveries_enqueue(webhooks=[email], event="alert.fired", payload=payload)
    [message] = mailoutbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.bcc == []
    assert message.subject == "[feedbackloop] Alert fired: spike Bcc: someone@example.net"
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
