from __future__ import annotations

from celery import shared_task

from annotation.services.agreement import agreement_compute


@shared_task(acks_late=True)
def compute_agreement(report_id: int) -> str:
    """Compute one stored agreement report; returns its final status."""
    return agreement_compute(report_id=report_id).status
