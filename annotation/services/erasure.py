"""Forget one end user of a project: `privacy_erase` (the API, `manage.py erase_user`).

Everything derived from the user's interactions goes with them, in bounded batches: feedback
(theirs, and anyone's on their interactions), flags, queue items with their leases, annotations
and adjudications. The rollup hours they counted in are recomputed from what is left, and stored
comment-theme reports of those hours (which quote comments) are dropped; the exports that held
their rows are marked (the manifest's `erased` counts them; the files are not rewritten); an
audit event records the counts, never the id.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from annotation.errors import Invalid
from annotation.exports.storage import ExportStore
from annotation.models import (
    Export,
    Feedback,
    InsightReport,
    InsightReportKind,
    Interaction,
    Project,
)
from annotation.models.privacy import ExportedInteraction
from annotation.services.export_contents import request_hashes
from annotation.services.rollups import hour_of, rollup_rebuild_hour
from annotation.services.secrets import pseudonyms

logger = logging.getLogger(__name__)

# The tables an erasure reports on, always present in the answer (0 when nothing was there).
ERASED_TABLES = (
    "interactions",
    "feedback",
    "flags",
    "queue_items",
    "leases",
    "annotations",
    "adjudications",
)
_TABLE_NAMES = {
    "interaction": "interactions",
    "feedback": "feedback",
    "flag": "flags",
    "queueitem": "queue_items",
    "lease": "leases",
    "annotation": "annotations",
    "adjudication": "adjudications",
}
MAX_ID_CHARS = 255


@dataclass
class Erasure:
    """What one erasure removed: rows by table, rollup hours recomputed, exports marked."""

    counts: Counter[str] = field(default_factory=Counter)
    hours: set[datetime] = field(default_factory=set)
    exports: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def as_dict(self) -> dict[str, int]:
        return table_counts(self.counts)


def erase_subject(*, user_id: object, session_id: object) -> tuple[str, str]:
    """Check what to erase by: exactly one of a user_id or a session_id (Invalid otherwise).

    Returns ("user_id" or "session_id", the id as sent).
    """
    for name, value in (("user_id", user_id), ("session_id", session_id)):
        if value is not None and not isinstance(value, str):
            raise Invalid(
                f"`{name}` must be a string: the id your application sent.",
                code="invalid_subject",
                details={name: ["Must be a string."]},
            )
        if isinstance(value, str) and len(value) > MAX_ID_CHARS:
            raise Invalid(
                f"`{name}` is longer than ingestion accepts ({MAX_ID_CHARS} characters).",
                code="invalid_subject",
                details={name: [f"At most {MAX_ID_CHARS} characters."]},
            )
    user = user_id if isinstance(user_id, str) else ""
    session = session_id if isinstance(session_id, str) else ""
    if not user and not session:
        raise Invalid(
            "Say whose data to erase: send `user_id` (the raw id your application sent; it is "
            "hashed here the way ingestion hashes it) or `session_id`.",
            code="subject_required",
            details={"user_id": ["Send user_id or session_id."]},
        )
    if user and session:
        raise Invalid(
            "Send either `user_id` or `session_id`, not both: erase one subject per request.",
            code="one_subject",
            details={"session_id": ["Leave out session_id when sending user_id."]},
        )
    return ("user_id", user) if user else ("session_id", session)


def privacy_erase(
    *,
    project: Project,
    actor: Any,
    user_id: object = None,
    session_id: object = None,
    batch_size: int | None = None,
) -> Erasure:
    """Delete one end user's data from a project in batches, recompute the rollup hours it
    counted in, mark the exports that held it and record an audit event; returns the counts.

    `user_id` is the raw id the application sent: it is looked up under the current hash key and,
    during a rotation, the previous one. An id never seen erases nothing (zero counts).
    """
    kind, value = erase_subject(user_id=user_id, session_id=session_id)
    batch_size = batch_size or settings.PRIVACY_BATCH_SIZE
    erasure = Erasure()
    if kind == "user_id":
        hashes = pseudonyms(value)
        interactions = Interaction.objects.filter(project=project, user_id__in=hashes)
        own_feedback = Feedback.objects.filter(project=project, user_id__in=hashes)
    else:
        interactions = Interaction.objects.filter(project=project, session_id=value)
        own_feedback = Feedback.objects.none()
    _erase_interactions(project, interactions, erasure, batch_size)
    _erase_feedback(own_feedback, erasure, batch_size)
    for hour in sorted(erasure.hours):
        rollup_rebuild_hour(project=project, hour=hour)
    _drop_quoting_reports(project, erasure)
    _mark_exports(erasure.exports)
    counts = erasure.as_dict()
    logger.info("erased %s of project %s: %s", kind, project.name, counts)
    _audit(actor, project, kind, erasure)
    return erasure


def _erase_interactions(
    project: Project, interactions: QuerySet[Interaction], erasure: Erasure, batch_size: int
) -> None:
    while True:
        with transaction.atomic():
            batch = list(
                interactions.order_by("pk").values_list("pk", "request_id", "timestamp")[
                    :batch_size
                ]
            )
            if not batch:
                return
            pks = [pk for pk, _, _ in batch]
            erasure.hours.update(hour_of(moment) for _, _, moment in batch)
            _note_exports(project, [request_id for _, request_id, _ in batch], erasure)
            _, by_model = Interaction.objects.filter(pk__in=pks).delete()
            _count(erasure, by_model)


def _erase_feedback(feedback: QuerySet[Feedback], erasure: Erasure, batch_size: int) -> None:
    """The user's own feedback on other people's interactions (and any still unlinked)."""
    while True:
        with transaction.atomic():
            batch = list(
                feedback.order_by("pk").values_list("pk", "interaction__timestamp")[:batch_size]
            )
            if not batch:
                return
            erasure.hours.update(hour_of(moment) for _, moment in batch if moment is not None)
            _, by_model = Feedback.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
            _count(erasure, by_model)


def _count(erasure: Erasure, by_model: dict[str, int]) -> None:
    add_deleted(erasure.counts, by_model)


def add_deleted(counts: Counter[str], by_model: dict[str, int]) -> None:
    """Add what `QuerySet.delete()` reported (by model label) to `counts` by table name."""
    for label, n in by_model.items():
        model_name = label.rsplit(".", 1)[-1].lower()
        counts[_TABLE_NAMES.get(model_name, model_name)] += n


def table_counts(counts: Counter[str]) -> dict[str, int]:
    """Every reported table (0 when nothing was deleted there), then any other, by name."""
    others = sorted(set(counts) - set(ERASED_TABLES))
    return {name: counts.get(name, 0) for name in (*ERASED_TABLES, *others)}


def _drop_quoting_reports(project: Project, erasure: Erasure) -> None:
    """Stored comment-theme reports quote comments: drop those whose window held the user's
    data (the daily refresh computes them again from what is left)."""
    if not erasure.hours:
        return
    first, last = min(erasure.hours), max(erasure.hours) + timedelta(hours=1)
    reports = InsightReport.objects.filter(
        project=project, kind=InsightReportKind.THEMES, since__lt=last, until__gt=first
    )
    deleted, _ = reports.delete()
    if deleted:
        erasure.counts["insight_reports"] += deleted


def _note_exports(project: Project, request_ids: Iterable[str], erasure: Erasure) -> None:
    """Count, per export of the project, the interactions and rows it held of this batch."""
    entries = ExportedInteraction.objects.filter(
        export__project=project, request_hash__in=request_hashes(request_ids)
    )
    for export_id, rows in entries.values_list("export_id", "rows"):
        counted = erasure.exports[export_id]
        counted[0] += 1
        counted[1] += rows
    entries.delete()


def _mark_exports(exports: dict[int, list[int]]) -> None:
    """Add the erased interactions and rows to each export's manifest (database and file)."""
    now = timezone.now().isoformat()
    for export_id, (interactions, rows) in sorted(exports.items()):
        with transaction.atomic():
            export = Export.objects.select_for_update().filter(pk=export_id).first()
            if export is None:
                continue
            manifest = dict(export.manifest or {})
            erased = dict(manifest.get("erased") or {})
            erased["interactions"] = int(erased.get("interactions", 0)) + interactions
            erased["rows"] = int(erased.get("rows", 0)) + rows
            erased["erasures"] = int(erased.get("erasures", 0)) + 1
            erased["updated_at"] = now
            manifest["erased"] = erased
            export.manifest = manifest
            export.save(update_fields=["manifest"])
        _rewrite_stored_manifest(export, erased)


def _rewrite_stored_manifest(export: Export, erased: dict[str, Any]) -> None:
    store = ExportStore(export.storage_prefix or f"exports/{export.pk}")
    try:
        stored = store.manifest()
        if stored is not None:
            stored["erased"] = erased
            store.rewrite_manifest(stored)
    except Exception:
        # The database's manifest (what the API and pages show) is already marked.
        logger.exception("could not rewrite manifest.json of export %s", export.pk)


def _audit(actor: Any, project: Project, kind: str, erasure: Erasure) -> None:
    from annotation.services.audit import audit_record

    audit_record(
        actor=actor,
        action="privacy.erase",
        project=project,
        target="",
        # Counts only: never the id, not even its pseudonym.
        details={
            "by": kind,
            "erased": erasure.as_dict(),
            "rollup_hours": len(erasure.hours),
            # The log's details are bounded (16 KB): the first ids, and how many in all.
            "exports_marked": len(erasure.exports),
            "export_ids": sorted(erasure.exports)[:100],
        },
    )
