"""Webhook deliveries: record them, send them (one attempt per task), retry, redeliver.

``deliveries_enqueue`` writes one row per webhook and starts a send task for each once the
transaction commits. ``delivery_attempt`` is the send task's work: it claims the attempt
with a conditional UPDATE (a task delivered twice by the broker sends once), sends outside
any transaction, and records status, response code and latency. A failure that may pass
(timeouts, connection errors, 5xx, 408/425/429) is retried after an exponential backoff with
jitter, scheduled as a new task with a countdown: no worker ever sleeps on a retry. When the
attempts run out the delivery fails and its webhook is marked failing; other webhooks'
deliveries are separate rows and tasks and go on regardless.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation import jobs
from annotation.errors import Conflict
from annotation.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookFormat
from annotation.outbound import client, formats
from annotation.outbound.backoff import retry_delay, retryable_status
from annotation.outbound.sealing import SealBroken, unseal
from annotation.outbound.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

logger = logging.getLogger(__name__)

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
MAX_ERROR = 1000
# A delivery still open this long after its attempt was due lost its task (a broker restart):
# the sweep on the beat tick sends it again.
RESUME_AFTER_SECONDS = 300
RESUME_LIMIT = 500


@dataclass(frozen=True)
class Sent:
    """What one attempt gave: a success, or an error that may or may not pass."""

    ok: bool
    code: int | None  # the HTTP status (None for email, or when nothing answered)
    latency_ms: int
    error: str = ""
    retryable: bool = False


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # the delivery's status after the attempt, or "skipped"
    retry_in: float | None = None  # seconds until the next attempt, when one is due


def deliveries_enqueue(
    *, webhooks: Iterable[Webhook], event: str, payload: dict[str, Any]
) -> list[WebhookDelivery]:
    """Record one delivery of ``event`` per active webhook; send tasks start on commit.

    The body a ``json`` webhook receives is ``{"event": event, **payload, "delivery_id": …}``.
    """
    now = timezone.now()
    rows = [
        WebhookDelivery(webhook=webhook, event=event, payload=payload, next_attempt_at=now)
        for webhook in webhooks
        if webhook.active
    ]
    if not rows:
        return []
    with transaction.atomic():
        created = WebhookDelivery.objects.bulk_create(rows)
        ids = [row.pk for row in created]
        transaction.on_commit(lambda: _start(ids))
    return created


def _start(ids: list[int], attempt: int = 1) -> None:
    for pk in ids:
        jobs.enqueue("annotation.tasks.deliveries.send_delivery", pk, attempt)


def delivery_attempt(*, delivery_id: int, attempt: int) -> AttemptOutcome:
    """Make attempt number ``attempt`` of a delivery and record its result.

    Returns "skipped" when the attempt was made already (a repeated task) or the delivery
    is no longer open.
    """
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, attempts=attempt - 1, status__in=OPEN_STATUSES
    ).update(attempts=attempt, updated_at=timezone.now())
    if not claimed:
        return AttemptOutcome(status="skipped")
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.active:
        _finish(delivery, status=DeliveryStatus.FAILED, error="The webhook was deactivated.")
        return AttemptOutcome(status=DeliveryStatus.FAILED)
    try:
        sent = _send(webhook, delivery)
    except Exception as exc:
        # A bug or a payload the format cannot carry must not leave the delivery open (the
        # sweep would send it again and again): record it as failed.
        logger.exception("delivery %s could not be sent", delivery_id)
        sent = Sent(ok=False, code=None, latency_ms=0, error=f"{type(exc).__name__}: {exc}")
    code, latency_ms, error = sent.code, sent.latency_ms, sent.error
    if sent.ok:
        _finish(delivery, status=DeliveryStatus.DELIVERED, code=code, latency_ms=latency_ms)
        _webhook_recovered(webhook)
        return AttemptOutcome(status=DeliveryStatus.DELIVERED)
    if sent.retryable and attempt < settings.WEBHOOK_MAX_ATTEMPTS:
        delay = retry_delay(
            attempt,
            base=settings.WEBHOOK_BACKOFF_SECONDS,
            cap=settings.WEBHOOK_BACKOFF_MAX_SECONDS,
        )
        _finish(
            delivery,
            status=DeliveryStatus.RETRYING,
            code=code,
            latency_ms=latency_ms,
            error=error,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        return AttemptOutcome(status=DeliveryStatus.RETRYING, retry_in=delay)
    if sent.retryable:
        error = f"{error} Gave up after {attempt} attempts."
    _finish(delivery, status=DeliveryStatus.FAILED, code=code, latency_ms=latency_ms, error=error)
    _webhook_failed(webhook)
    return AttemptOutcome(status=DeliveryStatus.FAILED)


def _send(webhook: Webhook, delivery: WebhookDelivery) -> Sent:
    """One attempt, no database writes."""
    if webhook.format == WebhookFormat.EMAIL:
        return _send_email(webhook, delivery)
    delivery_id = str(delivery.delivery_id)
    if webhook.format == WebhookFormat.SLACK:
        body = formats.slack_body(delivery.event, delivery.payload)
    else:
        body = formats.json_body(delivery.event, delivery.payload, delivery_id)
    try:
        secret = unseal(webhook.secret_sealed, settings.WEBHOOK_SECRETS_KEYS)
    except SealBroken as exc:
        return Sent(ok=False, code=None, latency_ms=0, error=str(exc))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, body, int(time.time())),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: delivery.event,
    }
    try:
        response = client.post(
            webhook.url,
            body,
            headers,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            max_response_bytes=settings.WEBHOOK_MAX_RESPONSE_BYTES,
        )
    except client.SendFailed as exc:
        return Sent(
            ok=False,
            code=None,
            latency_ms=exc.latency_ms,
            error=exc.message,
            retryable=exc.retryable,
        )
    status, latency_ms = response.status, response.latency_ms
    if 200 <= status < 300:
        return Sent(ok=True, code=status, latency_ms=latency_ms)
    shown = response.body[:300].decode("utf-8", "replace").strip()
    error = f"The receiver answered {status}" + (f": {shown}" if shown else ".")
    return Sent(
        ok=False,
        code=status,
        latency_ms=latency_ms,
        error=error,
        retryable=retryable_status(status),
    )


def _send_email(webhook: Webhook, delivery: WebhookDelivery) -> Sent:
    subject, text = formats.email_message(delivery.event, delivery.payload)
    message = EmailMessage(
        subject=subject,
        body=text,
        to=list(webhook.email_recipients),
        headers={DELIVERY_HEADER: str(delivery.delivery_id), EVENT_HEADER: delivery.event},
    )
    started = time.monotonic()
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        latency = int((time.monotonic() - started) * 1000)
        return Sent(
            ok=False, code=None, latency_ms=latency, error=f"Sending failed: {exc}", retryable=True
        )
    return Sent(ok=True, code=None, latency_ms=int((time.monotonic() - started) * 1000))


def _finish(
    delivery: WebhookDelivery,
    *,
    status: str,
    code: int | None = None,
    latency_ms: int | None = None,
    error: str = "",
    next_attempt_at: datetime | None = None,
) -> None:
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        last_status_code=code,
        latency_ms=latency_ms,
        error=error[:MAX_ERROR],
        next_attempt_at=next_attempt_at,
        delivered_at=now if status == DeliveryStatus.DELIVERED else None,
        updated_at=now,
    )


def _webhook_failed(webhook: Webhook) -> None:
    now = timezone.now()
    Webhook.objects.filter(pk=webhook.pk).update(
        failing=True,
        failing_since=Coalesce(F("failing_since"), now),
        consecutive_failures=F("consecutive_failures") + 1,
        updated_at=now,
    )
    logger.warning("webhook %s is failing", webhook.pk)


def _webhook_recovered(webhook: Webhook) -> None:
    Webhook.objects.filter(pk=webhook.pk).exclude(failing=False, consecutive_failures=0).update(
        failing=False, failing_since=None, consecutive_failures=0, updated_at=timezone.now()
    )


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again, with the same delivery id; the send starts on commit."""
    with transaction.atomic():
        reopened = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(status__in=OPEN_STATUSES)
            .update(
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=timezone.now(),
                error="",
                updated_at=timezone.now(),
            )
        )
        if not reopened:
            raise Conflict(
                f"Delivery {delivery.delivery_id} is being sent right now; redeliver it once "
                "it is delivered or failed.",
                code="delivery_in_progress",
            )
        pk = delivery.pk
        transaction.on_commit(lambda: _start([pk]))
    delivery.refresh_from_db()
    return delivery


def deliveries_resume(*, now: datetime | None = None) -> int:
    """Start again the open deliveries whose next attempt is long overdue (their task was
    lost); returns how many. A repeated task is harmless: attempts are claimed."""
    cutoff = (now or timezone.now()) - timedelta(seconds=RESUME_AFTER_SECONDS)
    due = list(
        WebhookDelivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", "attempts")[:RESUME_LIMIT]
    )
    for pk, attempts in due:
        jobs.enqueue("annotation.tasks.deliveries.send_delivery", pk, attempts + 1)
    return len(due)
