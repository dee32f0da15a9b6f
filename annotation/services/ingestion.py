"""Storing interactions and feedback in bulk, idempotently.

On PostgreSQL rows are streamed with COPY into a per-connection temporary table and moved with one
`INSERT … SELECT … ON CONFLICT DO NOTHING`, which is what makes 1,000-row batches cheap. Other
databases (SQLite for the demo) take the ORM's `bulk_create`; both paths give the same results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation.models import Feedback, Interaction, Project
from annotation.schemas.decoding import DecodedBatch, RowError
from annotation.schemas.ingestion import FeedbackIn, InteractionIn, LabelIn, RatingIn
from annotation.services.checks import checks_enqueue_for_request_ids
from annotation.services.privacy import feedback_text, interaction_text
from annotation.services.rollups import rollups_mark, rollups_mark_interactions
from annotation.services.secrets import pseudonymise

_json = msgspec.json.Encoder()

INTERACTION_COLUMNS = (
    "project_id",
    "request_id",
    "timestamp",
    "model",
    "model_version",
    "prompt_template",
    "prompt_template_version",
    "messages",
    "response",
    "retrieved_context",
    "user_id",
    "session_id",
    "experiment",
    "variant",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "cost",
    "metadata",
    "received_at",
    "redactions",
)
FEEDBACK_COLUMNS = (
    "project_id",
    "request_id",
    "kind",
    "source",
    "value",
    "scale",
    "normalized_score",
    "labels",
    "text",
    "event",
    "user_id",
    "metadata",
    "timestamp",
    "received_at",
    "feedback_id",
    "redactions",
)
_JSON_COLUMNS = {"messages", "retrieved_context", "metadata", "labels", "redactions"}


@dataclass
class InteractionsResult:
    created: int = 0
    created_request_ids: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    linked_feedback: int = 0


@dataclass
class FeedbackResult:
    created: int = 0
    awaiting_interaction: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _json_or_null(value: Any) -> str | None:
    return None if value is None else _json.encode(value).decode()


def interaction_row(
    project_id: int, item: InteractionIn, received_at: datetime, privacy_mode: str = "store"
) -> tuple[Any, ...]:
    # The project's privacy mode decides what of the text is stored (services/privacy.py).
    text = interaction_text(privacy_mode, item)
    return (
        project_id,
        item.request_id,
        item.timestamp or received_at,
        item.model,
        item.model_version,
        item.prompt_template,
        item.prompt_template_version,
        _json.encode(text.messages).decode(),
        text.response,
        _json.encode(text.retrieved_context).decode(),
        pseudonymise(item.user_id),
        item.session_id,
        item.experiment,
        item.variant,
        item.latency_ms,
        item.tokens_in,
        item.tokens_out,
        item.cost,
        _json.encode(text.metadata).decode(),
        received_at,
        _json_or_null(text.redactions),
    )


def feedback_row(
    project_id: int, item: FeedbackIn, received_at: datetime, privacy_mode: str = "store"
) -> tuple[Any, ...]:
    value: float | None = None
    scale = ""
    normalized: float | None = None
    labels: list[str] = []
    event = ""
    if isinstance(item, RatingIn):
        value, scale, normalized = item.value, item.scale, item.normalized()
    elif isinstance(item, LabelIn):
        labels = item.labels
    elif item.__struct_config__.tag == "implicit":
        event, value = item.event, item.value  # type: ignore[union-attr]
    # Correction and comment texts, and metadata, as the project's privacy mode stores them.
    private = feedback_text(privacy_mode, item)
    return (
        project_id,
        item.request_id,
        item.__struct_config__.tag,
        item.source,
        value,
        scale,
        normalized,
        _json.encode(labels).decode(),
        private.text,
        event,
        pseudonymise(item.user_id),
        _json.encode(private.metadata).decode(),
        item.timestamp or received_at,
        received_at,
        item.feedback_id,
        _json_or_null(private.redactions),
    )


def _copy_rows(
    table: str, staging: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """COPY rows into a temporary twin of `table` that empties itself at commit."""
    cols = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS "  # noqa: S608
            f"AS SELECT {cols} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


@transaction.atomic
def interactions_ingest(
    *, project: Project, items: Sequence[InteractionIn], received_at: datetime | None = None
) -> InteractionsResult:
    """Store new interactions (skipping request_ids already stored) and link waiting feedback."""
    received_at = received_at or timezone.now()
    if not items:
        return InteractionsResult()
    mode = project.privacy_mode
    rows = [interaction_row(project.pk, item, received_at, mode) for item in items]
    if connection.vendor == "postgresql":
        created = _insert_interactions_postgres(rows)
    else:
        created = _insert_interactions_orm(project, items, rows)
    result = InteractionsResult(created=len(created), created_request_ids=created)
    fresh = set(created)
    for item in items:
        if item.request_id in fresh:
            fresh.discard(item.request_id)
        else:
            result.duplicates.append(item.request_id)
    if created:
        result.linked_feedback = _link_waiting_feedback(project, created)
        checks_enqueue_for_request_ids(project_id=project.pk, request_ids=created)
        fresh_ids = set(created)
        rollups_mark(project_id=project.pk, moments=[row[2] for row in rows if row[1] in fresh_ids])
    return result


def _insert_interactions_postgres(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """COPY the batch straight into the table, assuming its request_ids are new.

    They almost always are. When one is already stored (a client retrying, or a concurrent request
    with the same id) the COPY fails on the unique constraint, rolls back to its savepoint, and the
    batch takes the staging path, which skips stored ids with ON CONFLICT DO NOTHING.
    """
    unique: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        unique.setdefault(row[1], row)
    table = Interaction._meta.db_table
    try:
        # The raw psycopg cursor bypasses Django's error translation; restore it for the COPY.
        with (
            transaction.atomic(),
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {table} ({', '.join(INTERACTION_COLUMNS)}) FROM STDIN"
            ) as copy,
        ):
            for row in unique.values():
                copy.write_row(row)
    except IntegrityError:
        return _insert_interactions_staged(list(unique.values()))
    return list(unique)


def _insert_interactions_staged(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    table = Interaction._meta.db_table
    cols = ", ".join(INTERACTION_COLUMNS)
    _copy_rows(table, "ingest_interaction", INTERACTION_COLUMNS, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ingest_interaction "  # noqa: S608
            "ON CONFLICT (project_id, request_id) DO NOTHING RETURNING request_id"
        )
        created = [request_id for (request_id,) in cursor.fetchall()]
        cursor.execute("TRUNCATE ingest_interaction")
    return created


def _insert_interactions_orm(
    project: Project, items: Sequence[InteractionIn], rows: Sequence[tuple[Any, ...]]
) -> list[str]:
    request_ids = {item.request_id for item in items}
    existing = set(
        Interaction.objects.filter(project=project, request_id__in=request_ids).values_list(
            "request_id", flat=True
        )
    )
    new: dict[str, Interaction] = {}
    for row in rows:
        values = dict(zip(INTERACTION_COLUMNS, row, strict=True))
        if values["request_id"] in existing or values["request_id"] in new:
            continue
        for column in _JSON_COLUMNS & values.keys():
            if values[column] is not None:
                values[column] = msgspec.json.decode(values[column])
        new[values["request_id"]] = Interaction(**values)
    Interaction.objects.bulk_create(new.values())
    return list(new)


def _link_waiting_feedback(project: Project, request_ids: list[str]) -> int:
    """Point feedback that arrived before its interaction at the interaction now stored."""
    waiting = Feedback.objects.filter(project=project, interaction__isnull=True)
    # Answered from a small partial index; almost always false, which saves the join below.
    if not waiting.exists():
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Feedback._meta.db_table} f SET interaction_id = i.id "  # noqa: S608
                f"FROM {Interaction._meta.db_table} i "
                "WHERE f.project_id = %s AND f.interaction_id IS NULL "
                "AND f.request_id = ANY(%s) AND i.project_id = f.project_id "
                "AND i.request_id = f.request_id",
                [project.pk, request_ids],
            )
            return cursor.rowcount
    ids = dict(
        Interaction.objects.filter(project=project, request_id__in=request_ids).values_list(
            "request_id", "id"
        )
    )
    linked = 0
    waiting = waiting.filter(request_id__in=request_ids)
    for request_id in waiting.values_list("request_id", flat=True).distinct():
        linked += Feedback.objects.filter(
            project=project, interaction__isnull=True, request_id=request_id
        ).update(interaction_id=ids[request_id])
    return linked


def feedback_link_waiting() -> int:
    """Link every waiting feedback row whose interaction has since been stored.

    Ingestion links feedback as interactions arrive, but an interaction and its feedback committed
    by two concurrent requests can miss each other; this sweep (Celery beat) settles them.
    """
    waiting = Feedback.objects.filter(interaction__isnull=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Feedback._meta.db_table} f SET interaction_id = i.id "  # noqa: S608
                f"FROM {Interaction._meta.db_table} i "
                "WHERE f.interaction_id IS NULL AND i.project_id = f.project_id "
                "AND i.request_id = f.request_id RETURNING f.interaction_id"
            )
            count = cursor.rowcount
            linked_ids = {row[0] for row in cursor.fetchall()}
        if linked_ids:
            rollups_mark_interactions(interactions=Interaction.objects.filter(pk__in=linked_ids))
        return count
    linked = 0
    for project_id, request_id in waiting.values_list("project_id", "request_id").distinct():
        interaction_id = (
            Interaction.objects.filter(project_id=project_id, request_id=request_id)
            .values_list("id", flat=True)
            .first()
        )
        if interaction_id is not None:
            linked += waiting.filter(project_id=project_id, request_id=request_id).update(
                interaction_id=interaction_id
            )
            rollups_mark_interactions(interactions=Interaction.objects.filter(pk=interaction_id))
    return linked


def feedback_link_check(*, feedback: Feedback, interaction: Interaction | None) -> None:
    """Refuse to link feedback to an interaction of another project (ValidationError)."""
    if interaction is not None and interaction.project_id != feedback.project_id:
        raise ValidationError(
            {
                "interaction": [
                    f"interaction {interaction.pk} is not in project {feedback.project.name}; "
                    "feedback links only to an interaction of its own project"
                ]
            }
        )


@transaction.atomic
def feedback_update(*, feedback: Feedback, fields: Sequence[str]) -> Feedback:
    """Save the named fields of an edited feedback row, refusing a link to another project."""
    if "interaction" in fields:
        feedback_link_check(feedback=feedback, interaction=feedback.interaction)
    feedback.save(update_fields=list(fields))
    return feedback


def feedback_taxonomy_errors(
    project: Project, items: Sequence[tuple[int, FeedbackIn]]
) -> list[RowError]:
    """Errors for labels that are not in the project's taxonomy, by row index."""
    allowed = set(project.label_names)
    errors = []
    for index, item in items:
        if isinstance(item, LabelIn):
            for position, label in enumerate(item.labels):
                if label not in allowed:
                    errors.append(
                        RowError(
                            index,
                            f"labels[{position}]",
                            f"'{label}' is not in project {project.name}'s taxonomy; "
                            f"use one of: {', '.join(sorted(allowed))}",
                        )
                    )
    return errors


def feedback_check_taxonomy(
    *, project: Project, batch: DecodedBatch[FeedbackIn]
) -> DecodedBatch[FeedbackIn]:
    """Move rows whose labels are not in the project's taxonomy from `rows` to `errors`."""
    taxonomy_errors = feedback_taxonomy_errors(project, batch.rows)
    if not taxonomy_errors:
        return batch
    bad = {error.index for error in taxonomy_errors}
    return DecodedBatch(
        rows=[(index, row) for index, row in batch.rows if index not in bad],
        errors=sorted(
            [*batch.errors, *taxonomy_errors],
            key=lambda error: -1 if error.index is None else error.index,
        ),
        is_batch=batch.is_batch,
        size=batch.size,
    )


@transaction.atomic
def feedback_ingest(
    *, project: Project, items: Sequence[FeedbackIn], received_at: datetime | None = None
) -> FeedbackResult:
    """Store feedback rows, linked to their interaction when it has already arrived."""
    received_at = received_at or timezone.now()
    if not items:
        return FeedbackResult()
    rows: list[tuple[Any, ...]] = []
    duplicates: list[str] = []
    keys: set[str] = set()
    for item in items:
        # A feedback_id repeated within the batch is a duplicate like one already stored.
        if item.feedback_id and item.feedback_id in keys:
            duplicates.append(item.feedback_id)
            continue
        keys.add(item.feedback_id)
        rows.append(feedback_row(project.pk, item, received_at, project.privacy_mode))
    insert: Callable[[Project, Sequence[tuple[Any, ...]]], list[tuple[Any, ...]]] = (
        _insert_feedback_postgres if connection.vendor == "postgresql" else _insert_feedback_orm
    )
    stored = insert(project, rows)
    linked = {row[-1] for row in stored if row[-1] is not None}
    if linked:
        rollups_mark_interactions(interactions=Interaction.objects.filter(pk__in=linked))
    stored_keys = {row[_FEEDBACK_ID] for row in stored}
    duplicates += [
        row[_FEEDBACK_ID]
        for row in rows
        if row[_FEEDBACK_ID] and row[_FEEDBACK_ID] not in stored_keys
    ]
    return FeedbackResult(
        created=len(stored),
        awaiting_interaction=sorted({row[1] for row in stored if row[-1] is None}),
        duplicates=duplicates,
    )


_FEEDBACK_ID = FEEDBACK_COLUMNS.index("feedback_id")


def _insert_feedback_postgres(
    project: Project, rows: Sequence[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Resolve the batch's interactions with one index probe, then COPY the rows in.

    Returns the rows stored, each with its interaction id (None while it has not arrived). A
    feedback_id already stored fails the COPY on its unique index; the batch then goes through a
    staging table that skips stored ids, as interactions do.
    """
    table = Feedback._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT request_id, id FROM {Interaction._meta.db_table} "  # noqa: S608
            "WHERE project_id = %s AND request_id = ANY(%s)",
            [project.pk, list({row[1] for row in rows})],
        )
        ids = dict(cursor.fetchall())
    linked = [(*row, ids.get(row[1])) for row in rows]
    columns = f"{', '.join(FEEDBACK_COLUMNS)}, interaction_id"
    try:
        with (
            transaction.atomic(),
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in linked:
                copy.write_row(row)
    except IntegrityError:
        return _insert_feedback_staged(linked)
    return linked


def _insert_feedback_staged(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    table = Feedback._meta.db_table
    columns = (*FEEDBACK_COLUMNS, "interaction_id")
    cols = ", ".join(columns)
    _copy_rows(table, "ingest_feedback", columns, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ingest_feedback "  # noqa: S608
            "ON CONFLICT (project_id, feedback_id) WHERE feedback_id <> '' DO NOTHING "
            "RETURNING feedback_id"
        )
        stored = {feedback_id for (feedback_id,) in cursor.fetchall()}
        cursor.execute("TRUNCATE ingest_feedback")
    return [row for row in rows if not row[_FEEDBACK_ID] or row[_FEEDBACK_ID] in stored]


def _insert_feedback_orm(
    project: Project, rows: Sequence[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    request_ids = {row[1] for row in rows}
    ids = dict(
        Interaction.objects.filter(project=project, request_id__in=request_ids).values_list(
            "request_id", "id"
        )
    )
    keys = [row[_FEEDBACK_ID] for row in rows if row[_FEEDBACK_ID]]
    existing = set(
        Feedback.objects.filter(project=project, feedback_id__in=keys).values_list(
            "feedback_id", flat=True
        )
    )
    stored: list[tuple[Any, ...]] = []
    objs = []
    for row in rows:
        if row[_FEEDBACK_ID] in existing:
            continue
        values = dict(zip(FEEDBACK_COLUMNS, row, strict=True))
        for column in _JSON_COLUMNS & values.keys():
            if values[column] is not None:
                values[column] = msgspec.json.decode(values[column])
        interaction_id = ids.get(values["request_id"])
        objs.append(Feedback(**values, interaction_id=interaction_id))
        stored.append((*row, interaction_id))
    Feedback.objects.bulk_create(objs)
    return stored
