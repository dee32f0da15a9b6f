"""Reading queues, their items and their progress."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from annotation.models import Project
from annotation.models.review import (
    Annotation,
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Queue,
    QueueFill,
    QueueItem,
)
from annotation.services.sampling import reason_counts


def with_last_fill(queues: QuerySet[Queue]) -> QuerySet[Queue]:
    """The queues, each with `last_fills`: its latest fill (or none) in one query for them all."""
    latest = (
        QueueFill.objects.filter(queue=OuterRef("queue"))
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    return queues.prefetch_related(
        Prefetch(
            "fills",
            queryset=QueueFill.objects.filter(id=Subquery(latest)),
            to_attr="last_fills",
        )
    )


def guideline_for_queue(queue: Queue) -> Guideline | None:
    """The guideline version the queue's annotators work under: pinned, or the latest."""
    if queue.guideline_id:
        return queue.guideline
    return Guideline.objects.filter(project_id=queue.project_id).order_by("-version").first()


def guidelines_for_project(project: Project) -> QuerySet[Guideline]:
    return Guideline.objects.filter(project=project).order_by("-version")


def item_with_context(item_id: int) -> QueueItem | None:
    return (
        QueueItem.objects.select_related("queue__project", "interaction", "queue__guideline")
        .filter(pk=item_id)
        .first()
    )


def _medians(queue: Queue) -> tuple[float | None, dict[int, float]]:
    """Median seconds per item, overall and by annotator."""
    annotations = Annotation.objects.filter(item__queue=queue, seconds__isnull=False)
    if connection.vendor == "postgresql":
        table = Annotation._meta.db_table
        items = QueueItem._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.annotator_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY a.seconds) "  # noqa: S608
                f"FROM {table} a JOIN {items} i ON i.id = a.item_id "
                "WHERE i.queue_id = %s AND a.seconds IS NOT NULL "
                "GROUP BY ROLLUP (a.annotator_id)",
                [queue.pk],
            )
            rows = cursor.fetchall()
        overall = next((m for annotator, m in rows if annotator is None), None)
        return overall, {a: m for a, m in rows if a is not None}
    # SQLite (the demo): no percentile aggregate; queues there are small.
    by: dict[int, list[float]] = {}
    for annotator_id, seconds in annotations.values_list("annotator_id", "seconds"):
        if seconds is not None:
            by.setdefault(annotator_id, []).append(seconds)
    every = [s for values in by.values() for s in values]
    return (
        statistics.median(every) if every else None,
        {a: statistics.median(v) for a, v in by.items()},
    )


def queue_stats(queue: Queue, *, now: datetime | None = None) -> dict[str, Any]:
    """Progress of a queue: items by state and reason, work per annotator, pace."""
    now = now or timezone.now()
    items = QueueItem.objects.filter(queue=queue)
    by_state = {state.value: 0 for state in ItemState}
    by_state.update(dict(items.values_list("state").annotate(n=Count("id")).order_by()))
    annotations = Annotation.objects.filter(item__queue=queue)
    done = dict(annotations.values_list("annotator_id").annotate(n=Count("id")).order_by())
    skipped = dict(
        Lease.objects.filter(queue=queue, state=LeaseState.SKIPPED)
        .values_list("annotator_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    overall_median, medians = _medians(queue)
    people = dict(
        User.objects.filter(pk__in=set(done) | set(skipped)).values_list("pk", "username")
    )
    total_done = sum(done.values())
    total_skipped = sum(skipped.values())
    hour_ago = now - timedelta(hours=1)
    day_ago = now - timedelta(hours=24)
    return {
        "total": sum(by_state.values()),
        "by_state": by_state,
        "by_reason": reason_counts(items),
        "annotations": total_done,
        "skips": total_skipped,
        "skip_rate": round(total_skipped / (total_done + total_skipped), 4)
        if total_done + total_skipped
        else 0.0,
        "median_seconds": overall_median,
        "throughput_per_hour": annotations.filter(created_at__gte=hour_ago).count(),
        "throughput_per_hour_24h": round(
            annotations.filter(created_at__gte=day_ago).count() / 24, 2
        ),
        "annotators": [
            {
                "username": people[pk],
                "done": done.get(pk, 0),
                "skipped": skipped.get(pk, 0),
                "median_seconds": medians.get(pk),
            }
            for pk in sorted(people, key=lambda pk: people[pk])
        ],
    }
