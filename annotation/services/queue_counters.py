"""Folding the queue counters' appended rows (PostgreSQL) into one row per queue, kind and name.

Triggers append a `delta` row for every change (see `QueueCounter`); a beat task folds them every
minute so a queue's counts stay a few rows to sum. Each fold is one statement that deletes the
rows it read and inserts their sums: rows appended meanwhile are not in its snapshot and stay for
the next fold, and two folds at once never count a row twice (the second skips what the first
deleted).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Count

from annotation.models.review import QueueCounter

_FOLD = f"""
WITH gone AS (
  DELETE FROM {QueueCounter._meta.db_table} WHERE queue_id = ANY(%(queues)s)
  RETURNING queue_id, kind, name, delta
)
INSERT INTO {QueueCounter._meta.db_table} (queue_id, kind, name, delta)
SELECT queue_id, kind, name, sum(delta) FROM gone GROUP BY queue_id, kind, name
HAVING sum(delta) <> 0
"""  # noqa: S608


def queue_counters_compact(*, batch: int = 200) -> int:
    """Fold the rows of every queue holding more than one row for a name; returns how many
    queues were folded. SQLite keeps one row per name already: nothing to do there."""
    if connection.vendor != "postgresql":
        return 0
    queues = list(
        QueueCounter.objects.values_list("queue_id", "kind", "name")
        .order_by()
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
        .values_list("queue_id", flat=True)
        .distinct()
    )
    folded = 0
    for start in range(0, len(queues), batch):
        chunk = queues[start : start + batch]
        with connection.cursor() as cursor:
            cursor.execute(_FOLD, {"queues": chunk})
        folded += len(chunk)
    return folded
