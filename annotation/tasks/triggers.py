"""Celery tasks of pipeline triggers: the evaluation on the beat tick (alerts queue) and each
run's export build (heavy queue)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from annotation.services.exports import ExportBusy
from annotation.services.triggers import trigger_build, triggers_evaluate

BUSY_RETRY_SECONDS = 30


@shared_task(acks_late=True, ignore_result=True)
def evaluate_triggers() -> list[int]:
    """Fire the triggers that have enough new examples; returns the new runs' ids."""
    return [run.pk for run in triggers_evaluate()]


@shared_task(bind=True, acks_late=True, max_retries=None)
def build_trigger_export(self: Task[Any, Any], run_id: int) -> dict[str, Any]:
    """Build a run's export and enqueue its trigger.fired deliveries."""
    try:
        run = trigger_build(run_id=run_id)
    except ExportBusy as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY_SECONDS) from None
    return {"run": run.pk, "status": run.status}
