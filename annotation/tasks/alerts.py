"""Celery tasks of alerts: one evaluation tick every minute (beat), on the `alerts` queue."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def evaluate_alerts() -> dict[str, int]:
    """Evaluate every active alert rule once (fires, resolves, announces); returns the counts."""
    # Imported here: the evaluation's numpy arrays stay out of web processes, which import the
    # task modules to enqueue other tasks.
    from annotation.services.alerts import alerts_evaluate

    result = alerts_evaluate()
    return {
        "rules": result.rules,
        "fired": len(result.fired),
        "resolved": len(result.resolved),
        "failed": len(result.failed),
    }
