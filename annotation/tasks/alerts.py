"""Celery tasks of alerts: one evaluation tick every minute (beat), on the `alerts` queue."""

from __future__ import annotations

from celery import shared_task

from annotation.services.alerts import alerts_evaluate


@shared_task(acks_late=True)
def evaluate_alerts() -> dict[str, int]:
    """Evaluate every active alert rule once (fires, resolves, announces); returns the counts."""
    result = alerts_evaluate()
    return {"rules": result.rules, "fired": len(result.fired), "resolved": len(result.resolved)}
