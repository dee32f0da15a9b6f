"""Exports: request one, build it (the Celery task's work), and hand its files out.

A build streams the reviewed items (``selectors.exports``), settles each
(``exports.reviewed``), curates and writes its rows (``exports.curation``, ``writers``)
into temp files that are renamed into place only when complete, and ends with the
manifest (``exports.storage``): the files are "done" exactly when ``manifest.json``
exists. Memory stays flat whatever the size; the duplicate filter, 8-16 bytes per row,
is allocated once from the count of matching items. Progress (items read of those
matching) is saved at most every half second.

Re-running a build is safe: it starts over (``ExportStore.begin`` clears what an earlier
attempt left), and on PostgreSQL an advisory lock held for the whole build keeps a
redelivered task from building the same export twice at once.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from annotation import jobs
from annotation.errors import Conflict
from annotation.exports.curation import (
    DuplicateFilter,
    prompt_key,
    redact_row_counted,
    split_for,
)
from annotation.exports.manifest import build_manifest, file_for_part
from annotation.exports.reviewed import (
    PAIR_KINDS,
    Outcome,
    ReviewedItem,
    RowMaker,
    SchemaRoles,
    pair_turns,
    prompt_turns,
    schema_roles,
    settle,
)
from annotation.exports.rows import RowError, chat_messages
from annotation.exports.storage import ExportStore
from annotation.models import AuditEvent, Export, JobStatus, Project
from annotation.models.audit import AuditAction
from annotation.models.review import Queue
from annotation.schemas.export_request import (
    ExportFilters,
    ExportOptions,
    parse_export_request,
)
from annotation.selectors.exports import Columns, ReviewedItems, project_queue_ids
from annotation.services.audit import audit_record
from annotation.services.export_contents import ExportContents
from annotation.services.locks import session_lock

logger = logging.getLogger(__name__)

# Progress is looked at every so many items and saved at most this often (one UPDATE).
PROGRESS_EVERY_ITEMS = 2_000
PROGRESS_EVERY_SECONDS = 0.5
# pg_try_advisory_lock(namespace, export id): the namespace keeps clear of other locks.
_LOCK_NAMESPACE = 0x45585054  # "EXPT"

ProgressCallback = Callable[[int, int, int], None]

CONTENT_TYPES = {
    "jsonl": "application/jsonl",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


class ExportError(Conflict):
    """A request the export services refuse (409 unless the error says otherwise)."""


class ExportBusy(Exception):
    """Another process is building this export right now."""


# -- request -------------------------------------------------------------------------------------


def export_create(
    *, project: Project, created_by: User | None, data: Mapping[str, Any], enqueue: bool = True
) -> Export:
    """Validate a request, record the export, and start its build once the transaction commits.

    Raises ``ExportRequestInvalid`` listing every problem. ``enqueue=False`` records it
    only (scripts and benchmarks then call ``export_run`` themselves).
    """
    spec = parse_export_request(data, queue_ids=project_queue_ids(project.pk))
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        export = Export.objects.create(
            project=project,
            kind=spec.kind,
            format=spec.format,
            filters=spec.filters.to_json(),
            options=spec.options.to_json(),
            created_by=created_by,
            task_id=task_id if enqueue else "",
        )
        export.storage_prefix = f"exports/{export.pk}"
        export.save(update_fields=["storage_prefix"])
        audit_record(
            actor=created_by,
            action=AuditAction.EXPORT_CREATED,
            project=project,
            target=f"export:{export.pk}",
            details={"kind": export.kind, "format": export.format},
        )
        if enqueue:
            pk = export.pk
            transaction.on_commit(
                lambda: jobs.enqueue("annotation.tasks.exports.build_export", pk, task_id=task_id)
            )
    return export


# -- build ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _build_lock(export_id: int) -> Iterator[bool]:
    """Hold a session advisory lock on the export; yields False if another session has it.

    A worker that dies loses its connection and with it the lock, so a redelivered task
    can take over at once.
    """
    with session_lock(_LOCK_NAMESPACE, export_id) as locked:
        # None: not PostgreSQL, where one process builds at a time anyway.
        yield locked is not False


def export_run(
    *,
    export_id: int,
    on_progress: ProgressCallback | None = None,
    streaming: bool | None = None,
) -> Export:
    """Build the export's files and manifest, recording progress, then mark it done.

    Idempotent: a done or failed export is returned as it is; one left running by a lost
    worker is built again from the start. Raises ``ExportBusy`` while another process
    builds it, and re-raises what made a build fail after recording it on the export.
    ``on_progress(items_read, items_total, rows_written)`` is called every few thousand
    items (the command's progress line, the benchmark); ``streaming=False`` reads keyset
    pages instead of the streamed query on PostgreSQL (tests compare the two).
    """
    with _build_lock(export_id) as locked:
        if not locked:
            raise ExportBusy(f"export {export_id} is being built by another worker")
        export = Export.objects.select_related("project", "created_by").get(pk=export_id)
        if export.status in (JobStatus.DONE, JobStatus.FAILED):
            return export
        now = timezone.now()
        Export.objects.filter(pk=export_id).update(
            status=JobStatus.RUNNING, started_at=now, progress=0.0, rows=0, error=""
        )
        try:
            manifest = _Build(export, on_progress).run(streaming)
        except Exception as exc:
            logger.exception("export %s failed", export_id)
            Export.objects.filter(pk=export_id).update(
                status=JobStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=timezone.now(),
            )
            raise
        Export.objects.filter(pk=export_id).update(
            status=JobStatus.DONE,
            progress=1.0,
            rows=manifest["counts"]["rows"],
            manifest=manifest,
            finished_at=timezone.now(),
        )
    export.refresh_from_db()
    return export


class _ProgressSaver:
    """Saves an export's progress where other sessions see it at once.

    On PostgreSQL the build's own connection is busy streaming rows and, inside a
    transaction, would hide the updates until it ends; a second connection writes them.
    """

    def __init__(self, export_id: int) -> None:
        self.export_id = export_id
        self._side: BaseDatabaseWrapper | None = None

    def save(self, progress: float, rows: int) -> None:
        if connection.vendor != "postgresql":
            Export.objects.filter(pk=self.export_id).update(progress=progress, rows=rows)
            return
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        with self._side.cursor() as cursor:
            cursor.execute(
                "UPDATE annotation_export SET progress = %s, rows = %s WHERE id = %s",
                [progress, rows, self.export_id],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


class _Build:
    """One build of one export: read, settle, curate, write, publish."""

    def __init__(self, export: Export, on_progress: ProgressCallback | None) -> None:
        self.export = export
        self.kind = export.kind
        self.filters = ExportFilters.from_json(export.filters)
        self.options = ExportOptions.from_json(export.options)
        self.on_progress = on_progress
        self.maker = RowMaker(
            self.kind,
            system_prompt=self.options.system_prompt,
            partial_relevance=self.options.partial_relevance,
        )
        self.roles: dict[int, SchemaRoles] = {
            pk: schema_roles(schema)
            for pk, schema in Queue.objects.filter(project_id=export.project_id).values_list(
                "pk", "schema"
            )
        }
        self.excluded: Counter[str] = Counter()
        self.redacted: Counter[str] = Counter()
        self.versions: set[int | None] = set()
        self.dedupe = self.options.dedupe and self.kind != "annotations"
        self.seen: DuplicateFilter | None = None
        self.split = self.options.split.to_json() if self.options.split else None
        self.settling = self.kind != "annotations" or self.filters.needs_settling
        self.filtering = self.filters.needs_settling or bool(self.filters.sampled_by)
        self.pii = self.options.redact_pii or self.options.exclude_pii
        self.written = 0
        self.matched = 0
        # Which interactions gave rows, so erasing a user can mark this export.
        self.contents = ExportContents(export.pk)

    def run(self, streaming: bool | None = None) -> dict[str, Any]:
        from annotation.exports.writers import PartWriters, relaxed_gc

        export = self.export
        store = ExportStore(export.storage_prefix or f"exports/{export.pk}")
        store.begin()
        items = ReviewedItems(export.project_id, self.filters)
        total = items.count()
        if self.dedupe:
            # Sized for every row at once, so memory does not grow while the export runs.
            self.seen = DuplicateFilter(expected=total * (2 if self.kind in PAIR_KINDS else 1))
        columns = Columns.for_kind(
            self.kind, split=self.split is not None, sampled_by=bool(self.filters.sampled_by)
        )
        saver = _ProgressSaver(export.pk)
        read = 0
        try:
            with (
                relaxed_gc(),
                PartWriters(
                    (self.kind, export.format), store.staging_dir, parts=self.options.parts
                ) as out,
            ):
                write = out.write
                saved_at = -PROGRESS_EVERY_SECONDS  # the first look saves
                for item in items.stream(columns, streaming=streaming):
                    read += 1
                    made = self._rows(item)
                    if made is not None:
                        part, rows = made
                        for row in rows:
                            write(part, row)
                        self.written += len(rows)
                        self.contents.add(item.request_id, len(rows))
                    if read % PROGRESS_EVERY_ITEMS == 0:
                        if self.on_progress is not None:
                            self.on_progress(read, total, self.written)
                        if time.monotonic() - saved_at >= PROGRESS_EVERY_SECONDS:
                            saver.save(min(read / total, 0.99) if total else 0.0, self.written)
                            saved_at = time.monotonic()
                files = out.commit()
            if self.on_progress is not None:
                self.on_progress(read, total, self.written)
            manifest = build_manifest(
                kind=self.kind,
                format=export.format,
                files=files,
                filters=export.filters,
                excluded=self.excluded,
                guideline_versions=[v for v in self.versions if v is not None],
                created_by=export.created_by.username if export.created_by else None,
                redact_pii=self.options.redact_pii,
                redacted=self.redacted,
                split=self.split,
            )
            manifest["options"].update(
                exclude_pii=self.options.exclude_pii,
                dedupe=self.dedupe,
                system_prompt=self.options.system_prompt,
            )
            if self.kind == "retrieval":
                manifest["options"]["partial_relevance"] = self.options.partial_relevance
            manifest["export_id"] = export.pk
            manifest["project"] = export.project.name
            manifest["counts"]["items"] = self.matched
            self.contents.save()
            store.publish(files, manifest)
        except BaseException:
            store.discard()
            raise
        finally:
            saver.close()
        return manifest

    def _passes(self, item: ReviewedItem, roles: SchemaRoles, outcome: Outcome) -> bool:
        filters = self.filters
        if filters.sampled_by and not set(item.item_reasons).intersection(filters.sampled_by):
            return False
        # An unsettled item has no verdict or reasons to filter on: it is counted as
        # matching and then left out as `unsettled_tie`, so ties are never silently lost.
        settled = outcome.settled
        if settled and filters.verdicts and outcome.verdict(roles) not in filters.verdicts:
            return False
        if (
            settled
            and filters.reasons
            and not set(outcome.reasons(roles)).intersection(filters.reasons)
        ):
            return False
        agreement = outcome.agreement
        if filters.min_agreement is not None and (
            agreement is None or agreement < filters.min_agreement
        ):
            return False
        if filters.agreed_only:
            agreed = agreement == 1.0
            if filters.adjudicated_only:
                return agreed or outcome.adjudicated
            return agreed
        return True

    def _rows(self, item: ReviewedItem) -> tuple[str, list[dict[str, Any]]] | None:
        """The part and the curated rows of one item; None when it gives none."""
        kind = self.kind
        roles = self.roles[item.queue_id]
        outcome = (
            settle(roles, [a.values for a in item.annotations], item.adjudication)
            if self.settling
            else _NOT_SETTLED_HERE
        )
        if self.filtering and not self._passes(item, roles, outcome):
            return None
        # Counted once every filter has passed it: what the manifest calls the export's items.
        self.matched += 1
        if not outcome.settled:
            self.excluded["unsettled_tie"] += 1
            return None
        try:
            rows = self.maker.rows(item, roles, outcome, self.excluded)
        except RowError as exc:
            self.excluded[exc.reason] += 1
            return None
        if self.pii:
            rows = self._curate_pii(rows)
            if not rows:
                return None
        split = self.split
        if kind == "annotations":
            part = split_for(self._item_key(item), **split) if split else "all"
        else:
            turns = rows[0]["messages"][:-1] if kind == "sft" else prompt_turns(kind, rows)
            key = prompt_key(turns or [])
            seen = self.seen
            if seen is not None:
                if kind in PAIR_KINDS:
                    rows = [row for row in rows if self._new_pair(row)]
                    if not rows:
                        return None
                elif not seen.add(key):
                    self.excluded["duplicate"] += 1
                    return None
            part = split_for(key, **split) if split else "all"
        add = self.versions.add
        for annotation in item.annotations:
            add(annotation.guideline_version)
        return part, rows

    def _curate_pii(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for row in rows:
            clean, replaced = redact_row_counted(self.kind, row)
            if not replaced:
                kept.append(row)
            elif self.options.exclude_pii:
                self.excluded["pii"] += 1
            else:
                self.redacted.update(replaced)
                kept.append(clean)
        return kept

    def _new_pair(self, row: dict[str, Any]) -> bool:
        # Preference rows are duplicates only when prompt, chosen and rejected all repeat:
        # one prompt may give a correction pair and an A/B pair.
        assert self.seen is not None
        if self.seen.add(prompt_key(pair_turns(row))):
            return True
        self.excluded["duplicate"] += 1
        return False

    @staticmethod
    def _item_key(item: ReviewedItem) -> str:
        try:
            return prompt_key(chat_messages(item.messages))
        except RowError:
            return prompt_key([{"role": "user", "content": item.request_id}])


# Annotation exports without filters on final values export every annotation as it is.
_NOT_SETTLED_HERE = Outcome(values={}, adjudicated=False, agreement=None)


# -- download ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """One file of a finished export, opened for streaming."""

    file: IO[bytes]
    name: str
    part: str
    size: int
    sha256: str
    content_type: str
    filename: str


def export_download(
    *, export: Export, part: str | None, actor: User | None, ip_address: str | None = None
) -> Download:
    """Open one file of a done export and record the download in the audit log.

    Refuses (``ExportError``) an export that is not done, a part it does not have, or
    files that went missing from storage.
    """
    if export.status in (JobStatus.PENDING, JobStatus.RUNNING):
        raise ExportError(
            f"Export {export.pk} is {export.status} ({export.progress:.0%}); download it once "
            f"GET /api/v1/exports/{export.pk} says done.",
            code="export_not_ready",
        )
    if export.status == JobStatus.FAILED:
        raise ExportError(
            f"Export {export.pk} failed and has no files: {export.error or 'unknown error'}. "
            "Request a new export.",
            code="export_failed",
        )
    try:
        entry = file_for_part(export.manifest, part)
    except LookupError as exc:
        code = "part_required" if part is None else "unknown_part"
        raise ExportError(str(exc), code=code, status=400) from None
    store = ExportStore(export.storage_prefix or f"exports/{export.pk}")
    try:
        fh = store.open_for_download(entry["name"])
    except FileNotFoundError:
        raise ExportError(
            f"The files of export {export.pk} are no longer in storage; request a new export.",
            code="export_files_missing",
            status=410,
        ) from None
    AuditEvent.objects.create(
        project=export.project,
        actor=actor,
        action="export.download",
        target_type="export",
        target_id=str(export.pk),
        metadata={
            "part": entry["part"],
            "file": entry["name"],
            "bytes": entry["bytes"],
            "sha256": entry["sha256"],
            "kind": export.kind,
        },
        ip_address=ip_address,
    )
    return Download(
        file=fh,
        name=entry["name"],
        part=entry["part"],
        size=entry["bytes"],
        sha256=entry["sha256"],
        content_type=CONTENT_TYPES.get(export.format, "application/octet-stream"),
        filename=f"{export.project.name}-export-{export.pk}-{entry['name']}",
    )
