"""Computing agreement reports for review queues, in Celery, with progress the page can poll."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation import jobs
from annotation.agreement_report import build_report
from annotation.models import AgreementReport, JobStatus, Queue
from annotation.review.settle import schema_roles
from annotation.schemas.label_schema import parse_schema
from annotation.selectors.agreement import (
    UnreadableAnnotation,
    adjudicated_values,
    agreement_records,
    done_item_ids,
)
from annotation.services.locks import session_lock

log = logging.getLogger(__name__)

# Percentile intervals from 200 resamples move by about 0.005 between seeds on 100,000 items;
# ask for more through the API when the interval ends matter.
DEFAULT_RESAMPLES = 200
# pg_try_advisory_lock(namespace, report id): the namespace keeps clear of other locks.
_LOCK_NAMESPACE = 0x41475245  # "AGRE"


def agreement_request(
    *, queue: Queue, requested_by: User | None, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> AgreementReport:
    """Create a pending report and queue its computation once this transaction commits."""
    report = AgreementReport.objects.create(
        queue=queue,
        requested_by=requested_by,
        parameters={"resamples": resamples, "seed": seed},
    )

    def enqueue() -> None:
        result = jobs.enqueue("annotation.tasks.agreement.compute_agreement", report.pk)
        AgreementReport.objects.filter(pk=report.pk, task_id="").update(task_id=result.id or "")

    transaction.on_commit(enqueue)
    return report


def _progress(report_id: int) -> Any:
    def record(fraction: float) -> None:
        AgreementReport.objects.filter(pk=report_id).update(progress=round(0.1 + 0.9 * fraction, 3))

    return record


def _claim(report_id: int, *, locked: bool) -> bool:
    """Move the report to running; True for the one run that may compute it.

    Only a pending report is claimed, so a redelivered task finds it running and leaves it.
    Holding the PostgreSQL lock also claims a running one: its worker died (it would hold the
    lock otherwise), and the redelivery computes it again.
    """
    claimable = [JobStatus.PENDING, JobStatus.RUNNING] if locked else [JobStatus.PENDING]
    claimed = AgreementReport.objects.filter(pk=report_id, status__in=claimable).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), progress=0.0, error=""
    )
    return claimed == 1


def agreement_compute(*, report_id: int) -> AgreementReport:
    """Compute and store the report; a failure is stored on it with its reason and returned.

    Never left 'running' by a run that finishes, and never raised: the request that asked for
    it (eager Celery in the demo) answers with the failed report and the page shows why. A
    redelivered task never computes it twice at once: on PostgreSQL the run holds a session
    advisory lock, and everywhere only one run moves it from pending to running; a run that
    finds the report claimed by another returns it as it is.
    """
    with session_lock(_LOCK_NAMESPACE, report_id) as locked:
        if locked is False or not _claim(report_id, locked=bool(locked)):
            return AgreementReport.objects.get(pk=report_id)
        return _compute(report_id)


def _compute(report_id: int) -> AgreementReport:
    report = AgreementReport.objects.select_related("queue__project").get(pk=report_id)
    queue = report.queue
    try:
        records = agreement_records(queue)
        AgreementReport.objects.filter(pk=report.pk).update(progress=0.1)
        result = build_report(
            parse_schema(queue.schema),
            records,
            adjudicated=adjudicated_values(queue),
            taxonomy=queue.project.label_names,
            overlap=queue.overlap,
            resamples=int(report.parameters.get("resamples", DEFAULT_RESAMPLES)),
            seed=int(report.parameters.get("seed", 0)),
            progress=_progress(report.pk),
            roles=schema_roles(queue.schema or {}),
            done_items=done_item_ids(queue),
        )
    except Exception as exc:
        log.exception("agreement report %s failed", report.pk)
        reason = (
            str(exc) if isinstance(exc, UnreadableAnnotation) else f"{type(exc).__name__}: {exc}"
        )
        AgreementReport.objects.filter(pk=report.pk).update(
            status=JobStatus.FAILED, error=reason[:2000], finished_at=timezone.now()
        )
        report.refresh_from_db()
        return report
    AgreementReport.objects.filter(pk=report.pk).update(
        status=JobStatus.DONE, result=result, progress=1.0, finished_at=timezone.now()
    )
    report.refresh_from_db()
    return report
