"""Celery tasks of webhook deliveries (alerts queue): one attempt per task, retries scheduled
with a countdown, and the sweep that restarts deliveries whose task was lost."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from annotation.services.deliveries import deliveries_resume, delivery_attempt


@shared_task(acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int, attempt: int = 1) -> dict[str, Any]:
    """Make one attempt of a delivery; on a passing failure, schedule the next one."""
    outcome = delivery_attempt(delivery_id=delivery_id, attempt=attempt)
    if outcome.retry_in is not None and not send_delivery.app.conf.task_always_eager:
        # Eager (the demo): no inline retry loop in a request; the sweep picks it up.
        send_delivery.apply_async(args=(delivery_id, attempt + 1), countdown=outcome.retry_in)
    return {"delivery": delivery_id, "attempt": attempt, "status": outcome.status}


@shared_task(acks_late=True, ignore_result=True)
def resume_deliveries() -> int:
    """Restart open deliveries whose next attempt is long overdue."""
    return deliveries_resume()
