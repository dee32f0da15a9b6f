"""Enforce each project's retention: delete interactions older than `retention_days`.

Run daily by Celery beat on the `heavy` queue (`annotation.tasks.privacy.enforce_retention`) and
by `manage.py enforce_retention`. Deletes in batches of `PRIVACY_BATCH_SIZE` interactions (each
with its feedback, flags, queue items, leases, annotations and adjudications, in its own
transaction), at most `RETENTION_MAX_BATCHES` batches per project and run; the next run goes on.
With `keep_reviewed`, interactions a reviewer annotated (or whose item is done) and interactions
an export contained are kept. Feedback still waiting for an interaction is deleted past the
cut-off too. Every run is stored (`RetentionRun`) with its counts, and logged.

The hourly rollups are aggregates without personal data: they keep the history retention removes
from the base tables (`manage.py rebuild_rollups` over an old range would drop it).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from annotation.models import Feedback, Interaction, Project, QueueItem
from annotation.models.privacy import ExportedInteraction, RetentionRun
from annotation.models.review import ItemState
from annotation.services.erasure import add_deleted, table_counts
from annotation.services.export_contents import request_hash

logger = logging.getLogger(__name__)


def retention_cutoff(project: Project, now: datetime) -> datetime | None:
    if not project.retention_days:
        return None
    return now - timedelta(days=project.retention_days)


def retention_enforce(
    *,
    project: Project,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> RetentionRun | None:
    """Delete the project's interactions (and their dependants) older than its retention, in
    bounded batches, and store the run with its counts; None when the project keeps everything."""
    now = now or timezone.now()
    cutoff = retention_cutoff(project, now)
    if cutoff is None:
        return None
    batch_size = batch_size or settings.PRIVACY_BATCH_SIZE
    max_batches = max_batches or settings.RETENTION_MAX_BATCHES
    run = RetentionRun.objects.create(
        project=project,
        started_at=timezone.now(),
        cutoff=cutoff,
        retention_days=project.retention_days or 0,
        keep_reviewed=project.keep_reviewed,
    )
    counts: Counter[str] = Counter()
    old = Interaction.objects.filter(project=project, timestamp__lt=cutoff)
    if project.keep_reviewed:
        old = old.annotate(
            reviewed=Exists(
                QueueItem.objects.filter(interaction=OuterRef("pk")).filter(
                    Q(state=ItemState.DONE) | Q(annotations__isnull=False)
                )
            )
        )
    kept = 0
    after = 0
    batches = 0
    more = False
    while True:
        if batches >= max_batches:
            more = old.filter(pk__gt=after).exists()
            break
        batch = list(
            old.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "request_id", *(["reviewed"] if project.keep_reviewed else []))[
                :batch_size
            ]
        )
        if not batch:
            break
        batches += 1
        after = batch[-1][0]
        doomed = [row[0] for row in batch]
        if project.keep_reviewed:
            doomed = _not_kept(project, batch)
            kept += len(batch) - len(doomed)
        if doomed:
            with transaction.atomic():
                _, by_model = Interaction.objects.filter(pk__in=doomed).delete()
            add_deleted(counts, by_model)
    if not more:
        counts["feedback"] += _delete_unlinked_feedback(project, cutoff, batch_size)
    run.counts = table_counts(counts)
    run.kept = kept
    run.more = more
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "kept", "more", "finished_at"])
    logger.info(
        "retention of project %s (older than %s): deleted %s, kept %d reviewed or exported%s",
        project.name,
        cutoff.isoformat(),
        run.counts,
        kept,
        "; more left for the next run" if more else "",
    )
    _audit(project, run)
    return run


def _not_kept(project: Project, batch: list[tuple[Any, ...]]) -> list[int]:
    """The batch's interactions that are neither reviewed nor in an export of the project."""
    hashes = {pk: request_hash(request_id) for pk, request_id, _ in batch}
    exported = set(
        ExportedInteraction.objects.filter(
            export__project=project, request_hash__in=list(hashes.values())
        ).values_list("request_hash", flat=True)
    )
    return [pk for pk, _, reviewed in batch if not reviewed and hashes[pk] not in exported]


def _delete_unlinked_feedback(project: Project, cutoff: datetime, batch_size: int) -> int:
    waiting = Feedback.objects.filter(
        project=project, interaction__isnull=True, timestamp__lt=cutoff
    )
    deleted = 0
    while True:
        pks = list(waiting.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return deleted
        deleted += Feedback.objects.filter(pk__in=pks).delete()[0]


def retention_enforce_all(*, now: datetime | None = None) -> list[RetentionRun]:
    """Enforce retention in every project that sets it (Celery beat, daily)."""
    runs = []
    for project in Project.objects.filter(retention_days__isnull=False).order_by("pk"):
        run = retention_enforce(project=project, now=now)
        if run is not None:
            runs.append(run)
    return runs


def _audit(project: Project, run: RetentionRun) -> None:
    from annotation.models.audit import AuditAction
    from annotation.services.audit import audit_record

    audit_record(
        actor=None,
        action=AuditAction.PRIVACY_RETENTION,
        project=project,
        target=f"retention_run:{run.pk}",
        details={"deleted": run.counts, "kept": run.kept, "cutoff": run.cutoff.isoformat()},
    )
