"""Reading queues, their items and their progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from annotation.models import Project
from annotation.models.review import (
    Guideline,
    Queue,
    QueueFill,
    QueueItem,
)
from annotation.selectors.queue_counters import queue_counts
from annotation.selectors.queue_pace import WINDOW, queue_pace


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


def queue_stats(queue: Queue, *, now: datetime | None = None) -> dict[str, Any]:
    """Progress of a queue: items by state and reason, work per annotator, pace.

    Counts come from the queue's counters (`queue_counts`), the pace from recent work
    (`queue_pace`): a few small queries whatever the size of the queue.
    """
    now = now or timezone.now()
    counts = queue_counts(queue.pk)
    done, skipped = counts.done_by, counts.skipped_by
    pace = queue_pace(queue.pk, done, now=now)
    people = dict(
        User.objects.filter(pk__in=set(done) | set(skipped)).values_list("pk", "username")
    )
    total_done = sum(done.values())
    total_skipped = sum(skipped.values())
    return {
        "total": counts.total,
        "by_state": counts.by_state,
        "by_reason": counts.by_reason,
        "annotations": total_done,
        "skips": total_skipped,
        "skip_rate": round(total_skipped / (total_done + total_skipped), 4)
        if total_done + total_skipped
        else 0.0,
        "median_seconds": pace.median_seconds,
        "median_window": WINDOW,
        "throughput_per_hour": pace.last_hour,
        "throughput_per_hour_24h": round(pace.last_day / 24, 2),
        "annotators": [
            {
                "username": people[pk],
                "done": done.get(pk, 0),
                "skipped": skipped.get(pk, 0),
                "median_seconds": pace.median_by.get(pk),
                "last_hour": pace.last_hour_by.get(pk, 0),
            }
            for pk in sorted(people, key=lambda pk: people[pk])
        ],
    }
