"""Celery tasks of review queues: fills (heavy queue) and lease expiry (default queue)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from annotation.services.leasing import leases_expire
from annotation.services.queue_counters import queue_counters_compact
from annotation.services.queues import queue_fill_run, queues_fill_due


@shared_task(acks_late=True)
def fill_queue(fill_id: int) -> dict[str, Any]:
    """Run one recorded queue fill; returns what it added by reason."""
    fill = queue_fill_run(fill_id=fill_id)
    return {
        "fill": fill.pk,
        "status": fill.status,
        "added": fill.added,
        "by_reason": fill.by_reason,
    }


@shared_task(acks_late=True)
def fill_due_queues() -> list[int]:
    """Start the fills of the active queues whose schedule is due (beat, every minute)."""
    return queues_fill_due()


@shared_task(acks_late=True)
def expire_leases() -> int:
    """Return the slots of expired leases to their items; returns how many expired."""
    return leases_expire()


@shared_task(acks_late=True)
def compact_queue_counters() -> int:
    """Fold the queue counters' appended rows (beat, every minute); returns the queues folded."""
    return queue_counters_compact()
