"""Pipeline triggers: fire when enough new reviewed examples match an export definition (or an
alert fires), build that export, and send ``trigger.fired`` with a signed download link.

A trigger never fires twice for the same data. Its watermark (the ``finished_at`` of the newest
example a run covered) advances in the same transaction that records the run, by a
conditional UPDATE on the watermark the run counted from, with the trigger's row locked
(``select_for_update``) on PostgreSQL: of two workers evaluating the same trigger at once,
one fires and the other finds nothing new (or loses the UPDATE) and returns ``None``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation import jobs
from annotation.models import (
    JobStatus,
    Trigger,
    TriggerReason,
    TriggerRun,
    TriggerRunStatus,
)
from annotation.schemas.export_request import ExportRequestInvalid
from annotation.selectors.triggers import trigger_new_examples
from annotation.services.deliveries import deliveries_enqueue
from annotation.services.export_links import export_download_link
from annotation.services.exports import ExportBusy, export_create, export_run

logger = logging.getLogger(__name__)

TRIGGER_FIRED = "trigger.fired"


def trigger_run(
    trigger: Trigger,
    *,
    reason: str,
    alert: object | None = None,
    now: datetime | None = None,
) -> TriggerRun | None:
    """Fire ``trigger`` if it has new examples: advance its watermark, record the run and its
    export, and start the build once the transaction commits.

    ``threshold`` needs ``min_new_examples`` new examples; ``alert`` and ``manual`` need one.
    Returns ``None`` when there is nothing new, or another worker fired for the same data.
    """
    if reason not in TriggerReason.values:
        raise ValueError(f"unknown trigger reason {reason!r}")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(trigger.pk)
        if locked is None:
            return None
        try:
            new = trigger_new_examples(locked)
        except ExportRequestInvalid as exc:
            return _refuse(locked, reason=reason, alert=alert, error=exc.message)
        needed = locked.min_new_examples if reason == TriggerReason.THRESHOLD else 1
        if new.newest is None or new.count < max(needed, 1):
            return None
        unchanged = Trigger.objects.filter(pk=locked.pk)
        unchanged = (
            unchanged.filter(watermark__isnull=True)
            if locked.watermark is None
            else unchanged.filter(watermark=locked.watermark)
        )
        if not unchanged.update(watermark=new.newest, last_run_at=now, updated_at=now):
            return None
        export = export_create(
            project=locked.project,
            created_by=locked.created_by,
            data=locked.export_request,
            enqueue=False,
        )
        run = TriggerRun.objects.create(
            trigger=locked,
            reason=reason,
            alert_id=_alert_id(alert),
            export=export,
            example_count=new.count,
            watermark_from=locked.watermark,
            watermark_to=new.newest,
        )
        run_id = run.pk
        transaction.on_commit(lambda: _start_build(run_id))
    logger.info("trigger %s fired (%s): run %s, %s examples", trigger.pk, reason, run_id, new.count)
    return run


def _locked(pk: int) -> Trigger | None:
    """The active trigger, re-read with its row locked until the transaction ends."""
    triggers = Trigger.objects.select_related("project", "created_by").filter(pk=pk, active=True)
    if connection.vendor == "postgresql":
        return triggers.select_for_update(of=("self",)).first()
    # SQLite has no row locks: a no-op UPDATE as the first statement takes the database's
    # write lock now, so a concurrent run waits here (busy timeout) and then reads what the
    # first one wrote, instead of both reading and then failing to upgrade their locks.
    Trigger.objects.filter(pk=pk).update(watermark=F("watermark"))
    return triggers.first()


def _refuse(trigger: Trigger, *, reason: str, alert: object | None, error: str) -> TriggerRun:
    # The export definition stopped holding (a queue it names was deleted): record why and
    # switch the trigger off rather than fail on every tick.
    Trigger.objects.filter(pk=trigger.pk).update(active=False, updated_at=timezone.now())
    return TriggerRun.objects.create(
        trigger=trigger,
        reason=reason,
        alert_id=_alert_id(alert),
        status=TriggerRunStatus.FAILED,
        error=f"The export definition is no longer valid ({error}); fix it and reactivate.",
        finished_at=timezone.now(),
    )


def _alert_id(alert: object | None) -> int | None:
    pk = getattr(alert, "pk", None)
    return pk if isinstance(pk, int) else None


def _start_build(run_id: int) -> None:
    jobs.enqueue("annotation.tasks.triggers.build_trigger_export", run_id)


def trigger_build(*, run_id: int) -> TriggerRun:
    """Build a run's export, then enqueue ``trigger.fired`` to the trigger's webhooks.

    Idempotent: a run already delivered or failed is returned as it is. Raises
    ``ExportBusy`` while another worker builds the export (the task retries).
    """
    run = TriggerRun.objects.select_related("trigger__project", "export").get(pk=run_id)
    if run.status != TriggerRunStatus.BUILDING or run.export_id is None:
        return run
    try:
        export = export_run(export_id=run.export_id)
    except ExportBusy:
        raise
    except Exception as exc:
        # export_run recorded the failure on the export; the run says so too.
        _finish(run, status=TriggerRunStatus.FAILED, error=f"The export failed: {exc}")
        run.refresh_from_db()
        return run
    if export.status != JobStatus.DONE:
        _finish(run, status=TriggerRunStatus.FAILED, error=f"The export failed: {export.error}")
        run.refresh_from_db()
        return run
    with transaction.atomic():
        if _finish(run, status=TriggerRunStatus.DELIVERED):
            deliveries_enqueue(
                webhooks=run.trigger.webhooks.filter(active=True),
                event=TRIGGER_FIRED,
                payload=trigger_fired_payload(run, export),
            )
    run.refresh_from_db()
    return run


def trigger_fired_payload(run: TriggerRun, export: Any) -> dict[str, Any]:
    """The body of ``trigger.fired`` (beside ``event``): the trigger, the run and the export
    with a signed download link per file."""
    trigger = run.trigger
    files = list((export.manifest or {}).get("files") or [])
    links = []
    expires_at = None
    for entry in files:
        url, expires_at = export_download_link(export, part=entry.get("part"))
        links.append({**entry, "download_url": url})
    if len(files) == 1:
        download_url, expires_at = export_download_link(export)
    elif links:
        download_url = links[0]["download_url"]
    else:
        download_url, expires_at = export_download_link(export)
    return {
        "trigger": {
            "id": trigger.pk,
            "name": trigger.name,
            "project": trigger.project.name,
            "run": run.pk,
            "reason": run.reason,
            "alert": run.alert_id,
            "example_count": run.example_count,
            "watermark": {
                "from": run.watermark_from.isoformat() if run.watermark_from else None,
                "to": run.watermark_to.isoformat() if run.watermark_to else None,
            },
        },
        "export": {
            "id": export.pk,
            "kind": export.kind,
            "format": export.format,
            "rows": export.rows,
            "manifest": export.manifest,
            "download_url": download_url,
            "download_expires_at": expires_at.isoformat() if expires_at else None,
            "files": links,
        },
    }


def _finish(run: TriggerRun, *, status: str, error: str = "") -> bool:
    return bool(
        TriggerRun.objects.filter(pk=run.pk, status=TriggerRunStatus.BUILDING).update(
            status=status, error=error[:2000], finished_at=timezone.now()
        )
    )


def triggers_evaluate(now: datetime | None = None) -> list[TriggerRun]:
    """Fire every active trigger that has enough new examples (the beat tick and
    ``manage.py evaluate_alerts``); one trigger's error never stops the others."""
    runs: list[TriggerRun] = []
    for trigger in Trigger.objects.filter(active=True).order_by("pk"):
        try:
            run = trigger_run(trigger, reason=TriggerReason.THRESHOLD, now=now)
        except Exception:
            logger.exception("evaluating trigger %s failed", trigger.pk)
            continue
        if run is not None:
            runs.append(run)
    return runs
