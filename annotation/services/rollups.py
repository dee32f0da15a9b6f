"""Keep the hourly rollups (annotation/models/insights.py) equal to the data they summarise.

Writers mark the hours they touched (`rollups_mark`); a Celery beat task rebuilds marked hours
every few seconds (`rollups_refresh_dirty`). A rebuild recomputes one (project, hour) whole from
the base tables, so it is idempotent, and late or out-of-order data only marks its hour again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import astuple, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from annotation.insights.definitions import IMPLICIT_NEGATIVE_EVENTS, NEGATIVE_RATING
from annotation.models import (
    Adjudication,
    Annotation,
    Feedback,
    Flag,
    FlagRollup,
    Interaction,
    Project,
    QueueItem,
    ReviewRollup,
    RollupDirty,
    SliceRollup,
)
from annotation.models.insights import SLICE_FIELDS
from annotation.models.review import MANUAL_ITEMS, ItemState
from annotation.review.settle import is_negative, schema_roles, settle

_BATCH = 200

SliceKey = tuple[str, ...]


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollups_mark(*, project_id: int, moments: Iterable[datetime]) -> int:
    """Mark the hours of `moments` (interaction timestamps) for a rebuild; returns how many."""
    hours = {hour_of(moment) for moment in moments if moment is not None}
    if not hours:
        return 0
    now = timezone.now()
    RollupDirty.objects.bulk_create(
        [RollupDirty(project_id=project_id, hour=hour, marked_at=now) for hour in hours],
        update_conflicts=True,
        unique_fields=["project", "hour"],
        update_fields=["marked_at"],
    )
    if _without_beat():
        # The embedded default runs no Celery beat: rebuild once the writer commits.
        transaction.on_commit(rollups_refresh_dirty)
    return len(hours)


def _without_beat() -> bool:
    from feedbackloop.celery import app

    return bool(app.conf.task_always_eager)


def rollups_mark_interactions(*, interactions: QuerySet[Interaction]) -> int:
    """Mark the hours of these interactions, project by project (one grouped query)."""
    by_project: dict[int, set[datetime]] = defaultdict(set)
    hours = (
        interactions.order_by()
        .annotate(bucket=TruncHour("timestamp", tzinfo=UTC))
        .values_list("project_id", "bucket")
        .distinct()
    )
    for project_id, hour in hours:
        by_project[project_id].add(hour)
    return sum(rollups_mark(project_id=p, moments=marks) for p, marks in by_project.items())


@dataclass
class _Counts:
    interactions: int = 0
    checked: int = 0
    rated: int = 0
    negative: int = 0
    ratings: int = 0
    rating_sum: float = 0.0
    rating_sq_sum: float = 0.0
    feedback: int = 0
    labels: int = 0
    corrections: int = 0
    comments: int = 0
    implicit: int = 0
    implicit_negative: int = 0


@dataclass
class _Review:
    reviewed: int = 0
    bad: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])


def _in_range(project: Project, start: datetime, end: datetime, path: str) -> dict[str, Any]:
    return {
        f"{path}project": project,
        f"{path}timestamp__gte": start,
        f"{path}timestamp__lt": end,
    }


def _keyed(queryset: QuerySet[Any], path: str) -> QuerySet[Any]:
    """Rows with their slice key: the hour of the interaction, then its slice fields."""
    return queryset.annotate(
        k_hour=TruncHour(f"{path}timestamp", tzinfo=UTC),
        **{f"k_{name}": F(f"{path}{name}") for name in SLICE_FIELDS},
    )


KEY_FIELDS = ("k_hour", *(f"k_{name}" for name in SLICE_FIELDS))


def _feedback_counts(project: Project, start: datetime, end: datetime) -> dict[SliceKey, _Counts]:
    negative_labels = set(project.negative_label_names)
    counts: dict[SliceKey, _Counts] = defaultdict(_Counts)
    keys: dict[int, SliceKey] = {}
    rated: set[int] = set()
    negative: set[int] = set()
    implicit_negative: set[int] = set()
    rows = _keyed(
        Feedback.objects.filter(**_in_range(project, start, end, "interaction__")), "interaction__"
    ).values_list("interaction_id", "kind", "normalized_score", "labels", "event", *KEY_FIELDS)
    for interaction_id, kind, score, labels, event, *key in rows.iterator(chunk_size=10000):
        slice_key = keys.get(interaction_id)
        if slice_key is None:
            slice_key = keys[interaction_id] = tuple(key)
        c = counts[slice_key]
        c.feedback += 1
        if kind == "rating" and score is not None:
            c.ratings += 1
            c.rating_sum += score
            c.rating_sq_sum += score * score
            rated.add(interaction_id)
            if score <= NEGATIVE_RATING:
                negative.add(interaction_id)
        elif kind == "label":
            c.labels += 1
            rated.add(interaction_id)
            if negative_labels.intersection(labels or ()):
                negative.add(interaction_id)
        elif kind == "correction":
            c.corrections += 1
        elif kind == "comment":
            c.comments += 1
        elif kind == "implicit":
            c.implicit += 1
            if event in IMPLICIT_NEGATIVE_EVENTS:
                implicit_negative.add(interaction_id)
    for ids, name in (
        (rated, "rated"),
        (negative, "negative"),
        (implicit_negative, "implicit_negative"),
    ):
        for interaction_id in ids:
            c = counts[keys[interaction_id]]
            setattr(c, name, getattr(c, name) + 1)
    return counts


def _review_counts(
    project: Project, start: datetime, end: datetime
) -> dict[tuple[SliceKey, int], _Review]:
    items = list(
        _keyed(
            QueueItem.objects.filter(
                **_in_range(project, start, end, "interaction__"), state=ItemState.DONE
            ),
            "interaction__",
        )
        # Hand-picked items are no sample of anything (annotation/services/manual_items.py).
        .exclude(MANUAL_ITEMS)
        .values_list("pk", "queue_id", "inclusion_probability", "queue__schema", *KEY_FIELDS)
    )
    if not items:
        return {}
    ids = [item[0] for item in items]
    answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item_id, values in (
        Annotation.objects.filter(item_id__in=ids)
        .order_by("item_id", "pk")
        .values_list("item_id", "values")
    ):
        if isinstance(values, dict):
            answers[item_id].append(values)
    adjudicated = dict(
        Adjudication.objects.filter(item_id__in=ids).values_list("item_id", "values")
    )
    reviews: dict[tuple[SliceKey, int], _Review] = defaultdict(_Review)
    roles_by_queue: dict[int, Any] = {}
    for item_id, queue_id, probability, schema, *key in items:
        roles = roles_by_queue.get(queue_id)
        if roles is None:
            roles = roles_by_queue[queue_id] = schema_roles(schema or {})
        if roles.verdict is None or not (answers.get(item_id) or adjudicated.get(item_id)):
            continue
        outcome = settle(roles, answers.get(item_id, []), adjudicated.get(item_id))
        if not outcome.settled or not probability or probability <= 0:
            continue
        bad = 1.0 if is_negative(outcome.verdict(roles)) else 0.0
        w = 1.0 / probability
        a = (1.0 - probability) * w * w
        review = reviews[(tuple(key), queue_id)]
        review.reviewed += 1
        review.bad += int(bad)
        for index, value in enumerate((w, w * bad, a, a * bad)):
            review.sums[index] += value
    return reviews


def rollup_rebuild_hour(*, project: Project, hour: datetime) -> int:
    """Recompute every rollup row of one project and hour; returns the slices written."""
    return rollup_rebuild_range(project=project, start=hour, end=hour + timedelta(hours=1))[1]


def rollup_rebuild_range(*, project: Project, start: datetime, end: datetime) -> tuple[int, int]:
    """Recompute the rollups of every hour in [start, end) (whole hours) in one pass.

    Returns (hours with interactions, slice rows written). A day at a time keeps the number of
    queries per hour low when a long range is rebuilt.
    """
    counts: dict[SliceKey, _Counts] = defaultdict(_Counts)
    interactions = _keyed(Interaction.objects.filter(**_in_range(project, start, end, "")), "")
    for row in interactions.values(*KEY_FIELDS).annotate(
        n=Count("pk"), n_checked=Count("pk", filter=Q(checked_at__isnull=False))
    ):
        c = counts[tuple(row[name] for name in KEY_FIELDS)]
        c.interactions, c.checked = row["n"], row["n_checked"]
    for slice_key, extra in _feedback_counts(project, start, end).items():
        c = counts[slice_key]
        for name, value in vars(extra).items():
            if name not in ("interactions", "checked"):
                setattr(c, name, value)
    flags = {
        (tuple(row[name] for name in KEY_FIELDS), row["check_config_id"], row["severity"]): row["n"]
        for row in _keyed(
            Flag.objects.filter(**_in_range(project, start, end, "interaction__"), flagged=True),
            "interaction__",
        )
        .values(*KEY_FIELDS, "check_config_id", "severity")
        .annotate(n=Count("pk"))
    }
    reviews = _review_counts(project, start, end)

    with transaction.atomic():
        for model in (SliceRollup, FlagRollup, ReviewRollup):
            model.objects.filter(project=project, hour__gte=start, hour__lt=end).delete()
        counter_names = [f.name for f in fields(_Counts)]
        _write(
            SliceRollup,
            ["project_id", "hour", *SLICE_FIELDS, *counter_names],
            ((project.pk, *key, *astuple(c)) for key, c in counts.items()),
        )
        _write(
            FlagRollup,
            ["project_id", "hour", *SLICE_FIELDS, "check_id", "severity", "flagged"],
            ((project.pk, *key, check, severity, n) for (key, check, severity), n in flags.items()),
        )
        _write(
            ReviewRollup,
            [
                "project_id",
                "hour",
                *SLICE_FIELDS,
                "queue_id",
                "reviewed",
                "bad",
                "sum_w",
                "sum_wy",
                "sum_a",
                "sum_ay",
            ],
            (
                (project.pk, *key, queue, r.reviewed, r.bad, *r.sums)
                for (key, queue), r in reviews.items()
            ),
        )
    return len({key[0] for key in counts}), len(counts)


def _write(model: type[models.Model], columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert plain rows: COPY on PostgreSQL (rebuilding a month writes tens of thousands),
    the ORM elsewhere."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    by_column = {f.column: f.attname for f in model._meta.concrete_fields}
    attnames = [by_column[c] for c in columns]
    model._default_manager.bulk_create(
        (model(**dict(zip(attnames, row, strict=True))) for row in rows), batch_size=1000
    )


def rollups_refresh_dirty(*, limit: int = _BATCH) -> int:
    """Rebuild up to `limit` marked hours, oldest mark first; returns how many were rebuilt.

    On PostgreSQL several workers may run this at once: each takes its marks with SKIP LOCKED.
    A mark whose `marked_at` moved while its hour was rebuilt stays for the next pass.
    """
    done = 0
    projects: dict[int, Project | None] = {}
    while done < limit:
        with transaction.atomic():
            marks = RollupDirty.objects.order_by("marked_at")
            if connection.features.has_select_for_update_skip_locked:
                marks = marks.select_for_update(skip_locked=True)
            mark = marks.values_list("pk", "project_id", "hour", "marked_at").first()
            if mark is None:
                break
            pk, project_id, hour, marked_at = mark
            if project_id not in projects:
                projects[project_id] = Project.objects.filter(pk=project_id).first()
            project = projects[project_id]
            if project is not None:
                rollup_rebuild_hour(project=project, hour=hour)
            RollupDirty.objects.filter(pk=pk, marked_at=marked_at).delete()
        done += 1
    return done


def rollups_rebuild(*, project: Project, since: datetime, until: datetime) -> int:
    """Rebuild every hour of [since, until), a day at a time; returns the hours with data."""
    hours = 0
    day = hour_of(since)
    # Whole hours only: a rollup row holds its whole hour.
    if hour_of(until) != until:
        until = hour_of(until) + timedelta(hours=1)
    while day < until:
        end = min(day + timedelta(days=1), until)
        hours += rollup_rebuild_range(project=project, start=day, end=end)[0]
        day = end
    return hours
