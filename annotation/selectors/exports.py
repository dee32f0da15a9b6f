"""What exports read: exports visible to a user, and the reviewed items an export reads.

Reviewed items are queue items in state ``done`` (every annotation in, disagreements
adjudicated), each with its interaction, adjudication and annotations (oldest first).

On PostgreSQL they come from one streamed query (``cursor.stream``, chunks of
``STREAM_CHUNK`` rows): one row per annotation, an item's rows together in item id
order, JSON columns as text decoded with msgspec. The server produces rows while Python
turns the previous ones into export rows, the client holds one chunk at a time, and the
statement is one consistent snapshot. Three planner settings hold for that statement's
transaction only (``SET LOCAL`` in ``transaction.atomic``, never a session ``SET``; measured
on the data of bench/exports.py, reading 300,000 items): ``jit = off`` (JIT spent seconds
compiling a plan that runs in a few), ``max_parallel_workers_per_gather = 0`` and
``enable_sort = off``: otherwise PostgreSQL hash-joins the whole tables and sorts the result
on disk to put it in item order, where walking the primary key index and joining each item's
interaction, adjudication and annotations by index gives the rows in order as it goes:
116,000 rows/s read instead of 74,000, and no temp files. (One aggregated row per item, a
correlated subquery building a JSON array of its annotations, read 66,000 rows/s.)

Elsewhere (SQLite, the demo) items are read in pages by keyset pagination on the id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast

from annotation.exports.reviewed import AnnotationRecord, ReviewedItem
from annotation.models import Annotation, Export, ItemState, Project, QueueItem
from annotation.models.review import Guideline, Queue
from annotation.schemas.export_request import ExportFilters
from annotation.selectors.access import READERS, projects_for

PAGE_SIZE = 5_000
STREAM_CHUNK = 1_000

_decode = msgspec.json.decode
_from_epoch = datetime.fromtimestamp


# -- exports -------------------------------------------------------------------------------------


def exports_for_user(user: User | AnonymousUser) -> QuerySet[Export]:
    """Exports of the projects where the user is a lead or an engineer, newest first."""
    return (
        Export.objects.filter(project__in=projects_for(user, READERS))
        .select_related("project", "created_by")
        .order_by("-created_at", "-id")
    )


def export_projects(user: User | AnonymousUser) -> QuerySet[Project]:
    """Projects in which the user may build exports."""
    return projects_for(user, READERS).order_by("name")


def project_queue_ids(project_id: int) -> list[int]:
    return list(Queue.objects.filter(project_id=project_id).values_list("pk", flat=True))


# -- reviewed items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """What of each item a kind of export reads (decoding JSON is most of the cost)."""

    messages: bool = True
    response: bool = True
    retrieved_context: bool = False
    metadata: bool = False
    item_details: bool = False
    annotation_details: bool = False

    @classmethod
    def for_kind(cls, kind: str, *, split: bool = False, sampled_by: bool = False) -> Columns:
        if kind == "annotations":
            return cls(
                messages=split,
                response=False,
                metadata=True,
                item_details=True,
                annotation_details=True,
            )
        return cls(
            response=kind != "retrieval",
            retrieved_context=kind == "retrieval",
            metadata=kind in ("preference", "openai_dpo"),
            item_details=sampled_by,
        )


class ReviewedItems:
    """The done items of a project's queues that pass the filters SQL can apply.

    Verdicts, reasons, sampling reasons and agreement depend on settled values and are
    checked by the export as it reads (``annotation.services.exports``). With
    ``min_guideline_version`` an item needs an annotation made under that guideline
    version or a later one, and only such annotations are read.
    """

    def __init__(self, project_id: int, filters: ExportFilters) -> None:
        self.project_id = project_id
        self.filters = filters
        self.queue_ids = list(filters.queues) or project_queue_ids(project_id)
        guidelines = Guideline.objects.filter(project_id=project_id).values_list("pk", "version")
        self.guideline_versions: dict[int, int] = dict(guidelines)
        self.guideline_ids: list[int] | None = None
        if filters.min_guideline_version is not None:
            self.guideline_ids = [
                pk
                for pk, v in self.guideline_versions.items()
                if v >= filters.min_guideline_version
            ]

    def count(self) -> int:
        if connection.vendor != "postgresql":
            return self.queryset().count()
        where, params = self._where()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) {_FROM} WHERE {where}", params)
            return int(cursor.fetchone()[0])

    def stream(
        self, columns: Columns, *, page_size: int = PAGE_SIZE, streaming: bool | None = None
    ) -> Iterator[ReviewedItem]:
        """Every item in id order; ``streaming=False`` forces keyset pages (for tests)."""
        if streaming is None:
            streaming = connection.vendor == "postgresql"
        if streaming:
            yield from self._stream(columns)
        else:
            for page in self._pages(columns, page_size):
                yield from page

    # -- PostgreSQL: one streamed query ----------------------------------------------------------

    def _where(self) -> tuple[str, list[Any]]:
        filters = self.filters
        clauses = ["qi.queue_id = ANY(%s)", "qi.state = %s"]
        params: list[Any] = [self.queue_ids, ItemState.DONE.value]
        if filters.since is not None:
            clauses.append("i.timestamp >= %s")
            params.append(filters.since)
        if filters.until is not None:
            clauses.append("i.timestamp < %s")
            params.append(filters.until)
        for name in ("model", "model_version", "prompt_template"):
            values = getattr(filters, name)
            if values:
                clauses.append(f"i.{name} = ANY(%s)")
                params.append(list(values))
        if filters.adjudicated_only and not filters.agreed_only:
            clauses.append("adj.id IS NOT NULL")
        if self.guideline_ids is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM annotation_annotation a2 "
                "WHERE a2.item_id = qi.id AND a2.guideline_id = ANY(%s))"
            )
            params.append(self.guideline_ids)
        return " AND ".join(clauses), params

    def _stream(self, columns: Columns) -> Iterator[ReviewedItem]:
        where, params = self._where()
        fields = [
            "qi.id",
            "qi.queue_id",
            "i.request_id",
            "adj.values::text",
            "i.messages::text" if columns.messages else "NULL",
            "i.response" if columns.response else "NULL",
            "i.retrieved_context::text" if columns.retrieved_context else "NULL",
            "i.metadata::text" if columns.metadata else "NULL",
            "qi.reasons::text" if columns.item_details else "NULL",
            "qi.inclusion_probability" if columns.item_details else "NULL",
            "a.id",
            "a.guideline_id",
            "a.values::text",
        ]
        joins = _FROM
        join_params: list[Any] = []
        on = "a.item_id = qi.id"
        if self.guideline_ids is not None:
            on += " AND a.guideline_id = ANY(%s)"
            join_params.append(self.guideline_ids)
        joins += f" LEFT JOIN annotation_annotation a ON {on}"
        details = columns.annotation_details
        if details:
            # Seconds since the epoch (exact to the microsecond in a double until the year
            # 2255): a tenth of the time of psycopg's timestamptz loader Django installs.
            fields += [
                "u.username",
                "a.revision",
                "a.seconds",
                "extract(epoch FROM a.created_at)::float8",
                "extract(epoch FROM a.updated_at)::float8",
            ]
            joins += " LEFT JOIN auth_user u ON u.id = a.annotator_id"
        # One row per annotation, an item's rows together, oldest annotation first.
        sql = f"SELECT {', '.join(fields)} {joins} WHERE {where} ORDER BY qi.id, a.id"
        queue_names = dict(Queue.objects.filter(pk__in=self.queue_ids).values_list("pk", "name"))
        # The settings hold for this transaction only (SET LOCAL), never for the session: a
        # pooled connection (PgBouncer) goes back clean, and no RESET can be missed when the
        # export stops half way. Outside a transaction SET LOCAL would do nothing.
        with transaction.atomic():
            connection.ensure_connection()
            raw = connection.connection
            assert raw is not None
            yield from self._stream_rows(raw, sql, [*join_params, *params], queue_names, details)

    def _stream_rows(
        self,
        raw: Any,
        sql: str,
        params: list[Any],
        queue_names: dict[int, str],
        details: bool,
    ) -> Iterator[ReviewedItem]:
        versions = self.guideline_versions
        with raw.cursor() as cursor:
            cursor.execute(
                "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; "
                "SET LOCAL enable_sort = off"
            )
            rows = cursor.stream(sql, params, size=STREAM_CHUNK)
            try:
                item: ReviewedItem | None = None
                for row in rows:
                    if item is None or item.item_id != row[0]:
                        if item is not None:
                            yield item
                        item = ReviewedItem(
                            row[0],
                            row[1],
                            row[2],
                            _decode(row[4]) if row[4] is not None else [],
                            row[5] or "",
                            [],
                            _decode(row[3]) if row[3] is not None else None,
                            _decode(row[6]) if row[6] is not None else [],
                            _decode(row[7]) if row[7] is not None else {},
                            _decode(row[8]) if row[8] is not None else [],
                            row[9],
                            queue_names.get(row[1], ""),
                        )
                    if row[10] is None:
                        continue
                    guideline = row[11]
                    record = AnnotationRecord(
                        row[10],
                        _decode(row[12]),
                        versions.get(guideline) if guideline is not None else None,
                    )
                    if details:
                        record.annotator, record.revision, record.seconds = row[13:16]
                        record.created_at = _from_epoch(row[16], UTC)
                        record.updated_at = _from_epoch(row[17], UTC)
                    item.annotations.append(record)
                if item is not None:
                    yield item
            finally:
                # Cancels the query if the export stopped before the end.
                rows.close()

    # -- elsewhere: keyset pages -----------------------------------------------------------------

    def queryset(self) -> QuerySet[QueueItem]:
        filters = self.filters
        items = QueueItem.objects.filter(queue__id__any=self.queue_ids, state=ItemState.DONE)
        if filters.since is not None:
            items = items.filter(interaction__timestamp__gte=filters.since)
        if filters.until is not None:
            items = items.filter(interaction__timestamp__lt=filters.until)
        for name in ("model", "model_version", "prompt_template"):
            values = getattr(filters, name)
            if values:
                items = items.filter(**{f"interaction__{name}__any": list(values)})
        if filters.adjudicated_only and not filters.agreed_only:
            items = items.filter(adjudication__isnull=False)
        if self.guideline_ids is not None:
            items = items.filter(
                Exists(
                    Annotation.objects.filter(
                        item_id=OuterRef("pk"), guideline__id__any=self.guideline_ids
                    )
                )
            )
        return items

    def _pages(self, columns: Columns, page_size: int) -> Iterator[list[ReviewedItem]]:
        fields: list[Any] = [
            "pk",
            "queue_id",
            "interaction__request_id",
            _text("adjudication__values"),
            _text("interaction__messages"),
            "interaction__response",
            _text("interaction__retrieved_context"),
            _text("interaction__metadata"),
            _text("reasons"),
            "inclusion_probability",
        ]
        queue_names = dict(Queue.objects.filter(pk__in=self.queue_ids).values_list("pk", "name"))
        ordered = self.queryset().order_by("pk")
        after = 0
        while True:
            page = list(ordered.filter(pk__gt=after).values_list(*fields)[:page_size])
            if not page:
                return
            after = page[-1][0]
            annotations = self._annotations([row[0] for row in page], columns.annotation_details)
            yield [
                ReviewedItem(
                    item_id,
                    queue_id,
                    request_id,
                    _decode(messages) if columns.messages else [],
                    (response or "") if columns.response else "",
                    annotations.get(item_id, []),
                    _decode(adjudication) if adjudication is not None else None,
                    _decode(retrieved) if columns.retrieved_context else [],
                    _decode(metadata) if columns.metadata else {},
                    _decode(reasons) if columns.item_details else [],
                    inclusion if columns.item_details else None,
                    queue_names.get(queue_id, ""),
                )
                for (
                    item_id,
                    queue_id,
                    request_id,
                    adjudication,
                    messages,
                    response,
                    retrieved,
                    metadata,
                    reasons,
                    inclusion,
                ) in page
            ]
            if len(page) < page_size:
                return

    def _annotations(
        self, item_ids: Sequence[int], details: bool
    ) -> dict[int, list[AnnotationRecord]]:
        annotations = Annotation.objects.filter(item__id__any=list(item_ids))
        if self.guideline_ids is not None:
            annotations = annotations.filter(guideline__id__any=self.guideline_ids)
        rows = annotations.order_by("item_id", "pk").values_list(
            "item_id",
            "pk",
            "guideline_id",
            _text("values"),
            "annotator__username",
            "revision",
            "seconds",
            "created_at",
            "updated_at",
        )
        versions = self.guideline_versions
        by_item: dict[int, list[AnnotationRecord]] = defaultdict(list)
        for item_id, pk, guideline, values, *rest in rows:
            record = AnnotationRecord(pk, _decode(values), versions.get(guideline))
            if details:
                record.annotator, record.revision, record.seconds = rest[0], rest[1], rest[2]
                record.created_at, record.updated_at = rest[3], rest[4]
            by_item[item_id].append(record)
        return by_item


_FROM = (
    "FROM annotation_queueitem qi "
    "JOIN annotation_interaction i ON i.id = qi.interaction_id "
    "LEFT JOIN annotation_adjudication adj ON adj.item_id = qi.id"
)


def _text(path: str) -> Cast:
    return Cast(path, output_field=TextField())
