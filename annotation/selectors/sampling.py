"""Reading what a queue's fills took and what a fill would take now (nothing is written).

The SQL itself is composed in `annotation.sampling.sql`; the fill that writes is
`annotation.services.sampling.queue_sample_insert`.
"""

# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min

from annotation.models.review import Queue, QueueItem
from annotation.sampling.sql import FillSql, Preview, without_jit
from annotation.selectors.queue_counters import queue_counts


def queue_room(queue: Queue) -> int:
    """How many more unfinished items the queue may hold (from its counters, not its items)."""
    return max(queue.capacity - queue_counts(queue.pk).unfinished, 0)


def fill_strata(fill_id: int, *, order: Sequence[str]) -> dict[str, dict[str, int]]:
    """Candidates and items taken per stratum of a fill, in priority order, read back from its
    items (N = taken / fraction). Strata the room did not reach took nothing and are left out."""
    rows = (
        QueueItem.objects.filter(fill_id=fill_id)
        .order_by()
        .values("stratum")
        .annotate(taken=Count("id"), fraction=Min("stratum_fraction"))
    )
    found = {
        row["stratum"]: {
            "candidates": round(row["taken"] / row["fraction"]),
            "taken": row["taken"],
        }
        for row in rows
        if row["fraction"]
    }
    return {name: found[name] for name in order if name in found}


def reason_counts(items: Any) -> dict[str, int]:
    """Items per reason over a QueueItem queryset (an item counts once for each of its reasons)."""
    query, params = items.order_by().values("id", "reasons").query.sql_with_params()
    elements = (
        "CROSS JOIN LATERAL jsonb_array_elements_text(sub.reasons) AS e(value)"
        if connection.vendor == "postgresql"
        else ", json_each(sub.reasons) AS e"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.value, COUNT(*) FROM ({query}) sub {elements} GROUP BY e.value",
            params,
        )
        return {name: count for name, count in sorted(cursor.fetchall())}


def queue_sample_preview(*, queue: Queue, now: datetime | None = None) -> Preview:
    """What a fill would add now, by reason and by stratum, without adding anything.

    Which candidates of a subsampled stratum a fill takes depends on the fill's own draw, so
    counts by reason inside such a stratum are those of one draw (the preview's).
    """
    builder = FillSql(queue, now=now)
    room = queue_room(queue)
    chosen = builder.chosen(room, "preview")
    sums = []
    for index in range(len(builder.sources)):
        sums.append(f"SUM(CASE WHEN r.p{index} THEN 1 ELSE 0 END)")
        sums.append(f"SUM(CASE WHEN r.p{index} AND r.pos <= q.k THEN 1 ELSE 0 END)")
    sql = (
        f"{chosen.text} SELECT r.st, COUNT(*), SUM(CASE WHEN r.pos <= q.k THEN 1 ELSE 0 END), "
        f"{', '.join(sums)} FROM ranked r JOIN quota q ON q.st = r.st GROUP BY r.st ORDER BY r.st"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        without_jit(cursor)
        cursor.execute(sql, chosen.params)
        rows = cursor.fetchall()
    names = [s.name for s in builder.sources]
    candidates_by_reason = dict.fromkeys(names, 0)
    would_add_by_reason = dict.fromkeys(names, 0)
    strata: dict[str, dict[str, int]] = {}
    for row in rows:
        values = [int(v or 0) for v in row]
        strata[builder.order[values[0]]] = {"candidates": values[1], "taken": values[2]}
        for i, name in enumerate(names):
            candidates_by_reason[name] += values[3 + 2 * i]
            would_add_by_reason[name] += values[4 + 2 * i]
    return Preview(
        room=room,
        candidates=sum(s["candidates"] for s in strata.values()),
        would_add=sum(s["taken"] for s in strata.values()),
        candidates_by_reason=candidates_by_reason,
        would_add_by_reason=would_add_by_reason,
        strata=strata,
    )
