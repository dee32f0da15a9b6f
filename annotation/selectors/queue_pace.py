"""How fast a queue is worked: median seconds per item and throughput, read from recent work only.

Each annotator's median is over their latest `WINDOW` annotations in the queue (the overall one
over all of those together), and throughput over the last hour and day. Both are read through
the annotations' (annotator, created_at) index, for the annotators the queue's counters name, so
a progress page polled every 10 seconds reads a bounded number of recent rows, however many items
and annotations the queue has.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection

from annotation.models.review import Annotation, QueueItem

WINDOW = 200


@dataclass
class Pace:
    median_seconds: float | None = None
    median_by: dict[int, float] = field(default_factory=dict)
    last_hour_by: dict[int, int] = field(default_factory=dict)
    last_hour: int = 0
    last_day: int = 0


def _recent_seconds(queue_id: int, annotator_ids: list[int]) -> dict[int, list[float]]:
    """Each annotator's latest WINDOW timed annotations in the queue (seconds)."""
    by: dict[int, list[float]] = {}
    if not annotator_ids:
        return by
    if connection.vendor == "postgresql":
        notes, items = Annotation._meta.db_table, QueueItem._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT u.id, r.seconds FROM unnest(%(people)s::bigint[]) AS u(id) "  # noqa: S608
                "CROSS JOIN LATERAL (SELECT a.seconds FROM "
                f"{notes} a JOIN {items} i ON i.id = a.item_id "
                "WHERE a.annotator_id = u.id AND i.queue_id = %(queue)s "
                "AND a.seconds IS NOT NULL ORDER BY a.created_at DESC LIMIT %(window)s) r",
                {"people": annotator_ids, "queue": queue_id, "window": WINDOW},
            )
            for annotator_id, seconds in cursor.fetchall():
                by.setdefault(annotator_id, []).append(float(seconds))
        return by
    # SQLite (the embedded default) has no LATERAL: one bounded read per annotator.
    for annotator_id in annotator_ids:
        seconds = list(
            Annotation.objects.filter(
                annotator_id=annotator_id, item__queue_id=queue_id, seconds__isnull=False
            )
            .order_by("-created_at")
            .values_list("seconds", flat=True)[:WINDOW]
        )
        if seconds:
            by[annotator_id] = [float(s) for s in seconds if s is not None]
    return by


def queue_pace(queue_id: int, annotator_ids: Iterable[int], *, now: datetime) -> Pace:
    people = sorted(set(annotator_ids))
    recent = _recent_seconds(queue_id, people)
    every = [s for values in recent.values() for s in values]
    pace = Pace(
        median_seconds=statistics.median(every) if every else None,
        median_by={a: statistics.median(v) for a, v in recent.items() if v},
    )
    if not people:
        return pace
    hour_ago = now - timedelta(hours=1)
    for annotator_id, created_at in Annotation.objects.filter(
        annotator_id__in=people, created_at__gte=now - timedelta(hours=24), item__queue_id=queue_id
    ).values_list("annotator_id", "created_at"):
        pace.last_day += 1
        if created_at >= hour_ago:
            pace.last_hour += 1
            pace.last_hour_by[annotator_id] = pace.last_hour_by.get(annotator_id, 0) + 1
    return pace
