"""Celery task of exports (heavy queue): build one export's files and manifest."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from annotation.models import Export
from annotation.services.exports import ExportBusy, export_run

# A redelivered task waits this long for the worker still building the export.
BUSY_RETRY_SECONDS = 30


@shared_task(bind=True, acks_late=True, max_retries=None)
def build_export(self: Task[Any, Any], export_id: int) -> dict[str, Any]:
    """Build the export's files and manifest in storage; returns its status and row count."""
    try:
        export = export_run(export_id=export_id)
    except Export.DoesNotExist:
        return {"export": export_id, "status": "deleted"}
    except ExportBusy as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY_SECONDS) from None
    return {"export": export.pk, "status": export.status, "rows": export.rows}
