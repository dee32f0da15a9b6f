"""Keep the hourly rollups (annotation/models/insights.py) equal to the data they summarise.

Writers mark the hours they touched (`rollups_mark`); a Celery beat task rebuilds marked hours
every few seconds (`rollups_refresh_dirty`). A rebuild recomputes one (project, hour) whole from
the base tables, so it is idempotent, and late or out-of-order data only marks its hour again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

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
from annotation.models.review import ItemState
from annotation.review.settle import is_negative, schema_roles, settle
from annotation.services.manual_items import MANUAL_ITEMS

NEGATIVE_RATING = 0.4
IMPLICIT_NEGATIVE_EVENTS = ("abandoned", "rephrased", "regenerated")
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
    return len(hours)


def rollups_mark_interactions(*, interactions: QuerySet[Interaction]) -> int:
    """Mark the hours of these interactions, project by project."""
    by_project: dict[int, set[datetime]] = defaultdict(set)
    for project_id, moment in interactions.values_list("project_id", "timestamp").distinct():
        by_project[project_id].add(hour_of(moment))
    return sum(rollups_mark(project_id=p, moments=hours) for p, hours in by_project.items())


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


def _feedback_counts(
    project: Project, interactions: QuerySet[Interaction], slices: dict[int, SliceKey]
) -> dict[SliceKey, _Counts]:
    negative_labels = set(project.negative_label_names)
    counts: dict[SliceKey, _Counts] = defaultdict(_Counts)
    rated: set[int] = set()
    negative: set[int] = set()
    implicit_negative: set[int] = set()
    rows = Feedback.objects.filter(interaction_id__in=interactions.values("pk")).values_list(
        "interaction_id", "kind", "normalized_score", "labels", "event"
    )
    for interaction_id, kind, score, labels, event in rows.iterator(chunk_size=5000):
        c = counts[slices[interaction_id]]
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
            c = counts[slices[interaction_id]]
            setattr(c, name, getattr(c, name) + 1)
    return counts


def _review_counts(
    interactions: QuerySet[Interaction], slices: dict[int, SliceKey]
) -> dict[tuple[SliceKey, int], _Review]:
    items = list(
        QueueItem.objects.filter(interaction_id__in=interactions.values("pk"), state=ItemState.DONE)
        # Hand-picked items are no sample of anything (annotation/services/manual_items.py).
        .exclude(MANUAL_ITEMS)
        .values_list("pk", "queue_id", "interaction_id", "inclusion_probability", "queue__schema")
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
    for item_id, queue_id, interaction_id, probability, schema in items:
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
        review = reviews[(slices[interaction_id], queue_id)]
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
    interactions = Interaction.objects.filter(
        project=project, timestamp__gte=start, timestamp__lt=end
    )
    # A slice key leads with its hour, so one pass can cover many hours.
    slices: dict[int, SliceKey] = {}
    counts: dict[SliceKey, _Counts] = defaultdict(_Counts)
    rows = interactions.annotate(bucket=TruncHour("timestamp", tzinfo=UTC)).values_list(
        "pk", "checked_at", "bucket", *SLICE_FIELDS
    )
    for pk, checked_at, *key in rows.iterator(chunk_size=10000):
        slice_key = tuple(key)
        slices[pk] = slice_key
        c = counts[slice_key]
        c.interactions += 1
        c.checked += checked_at is not None
    for slice_key, extra in _feedback_counts(project, interactions, slices).items():
        c = counts[slice_key]
        for name, value in vars(extra).items():
            if name not in ("interactions", "checked"):
                setattr(c, name, value)
    flags: dict[tuple[SliceKey, int, int], int] = defaultdict(int)
    for interaction_id, check_id, severity in Flag.objects.filter(
        interaction_id__in=interactions.values("pk"), flagged=True
    ).values_list("interaction_id", "check_config_id", "severity"):
        flags[(slices[interaction_id], check_id, severity)] += 1
    reviews = _review_counts(interactions, slices)

    def dims(key: SliceKey) -> dict[str, Any]:
        return {"hour": key[0], **dict(zip(SLICE_FIELDS, key[1:], strict=True))}

    with transaction.atomic():
        for model in (SliceRollup, FlagRollup, ReviewRollup):
            model.objects.filter(project=project, hour__gte=start, hour__lt=end).delete()
        SliceRollup.objects.bulk_create(
            (SliceRollup(project=project, **dims(key), **vars(c)) for key, c in counts.items()),
            batch_size=2000,
        )
        FlagRollup.objects.bulk_create(
            FlagRollup(
                project=project,
                **dims(key),
                check_config_id=check_id,
                severity=severity,
                flagged=n,
            )
            for (key, check_id, severity), n in flags.items()
        )
        ReviewRollup.objects.bulk_create(
            ReviewRollup(
                project=project,
                **dims(key),
                queue_id=queue_id,
                reviewed=r.reviewed,
                bad=r.bad,
                sum_w=r.sums[0],
                sum_wy=r.sums[1],
                sum_a=r.sums[2],
                sum_ay=r.sums[3],
            )
            for (key, queue_id), r in reviews.items()
        )
    return len({key[0] for key in counts}), len(counts)


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
    while day < until:
        end = min(day + timedelta(days=1), until)
        hours += rollup_rebuild_range(project=project, start=day, end=end)[0]
        day = end
    return hours
