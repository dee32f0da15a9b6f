"""Celery tasks of insights: keeping the hourly rollups current."""

from __future__ import annotations

from celery import shared_task

from annotation.services.rollups import rollups_refresh_dirty


@shared_task(acks_late=True)
def refresh_rollups() -> int:
    """Rebuild the rollup hours marked since the last run (beat); returns how many."""
    total = 0
    while True:
        done = rollups_refresh_dirty()
        total += done
        if done == 0:
            return total
