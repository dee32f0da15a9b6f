"""Celery tasks of privacy: enforcing every project's retention (beat, daily, `heavy` queue)."""

from __future__ import annotations

from celery import shared_task

from annotation.services.retention import retention_enforce_all


@shared_task(acks_late=True)
def enforce_retention() -> dict[str, dict[str, int]]:
    """Delete what each project's retention no longer keeps; returns the counts by project."""
    return {run.project.name: run.counts for run in retention_enforce_all()}
