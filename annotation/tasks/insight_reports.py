"""Celery tasks of the stored insight reports (worst metadata slices, comment themes,
retrieval, retraining signal): heavy queue, one report per task, and a daily refresh by beat."""

from __future__ import annotations

from celery import shared_task

from annotation.services.insight_reports import insight_report_compute, insight_reports_refresh


@shared_task(acks_late=True)
def compute_insight_report(report_id: int) -> str:
    """Compute one stored insight report; returns its final state."""
    return insight_report_compute(report_id=report_id).state


@shared_task(acks_late=True)
def refresh_insight_reports() -> int:
    """Request every report of the last 7 days for each active project (beat, daily)."""
    return insight_reports_refresh()
