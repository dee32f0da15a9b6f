"""Filling review queues: the one statement that inserts a fill's items (see
`annotation.sampling.sql` for how they are drawn and their inclusion probabilities)."""

# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from annotation.models.review import Queue, QueueItem
from annotation.sampling.sql import FillOutcome, FillSql, without_jit
from annotation.selectors.sampling import fill_strata, queue_room, reason_counts


def queue_sample_insert(
    *, queue: Queue, fill_id: int | None, now: datetime | None = None
) -> FillOutcome:
    """Insert the queue's new candidates up to its free capacity, stratum by stratum.

    The caller holds the queue's row lock (see `services.queues.queue_fill_run`), so fills of one
    queue never interleave; ON CONFLICT covers an item added by any other path meanwhile.
    """
    now = now or timezone.now()
    room = queue_room(queue)
    if room == 0:
        return FillOutcome(added=0, by_reason={}, room=0)
    builder = FillSql(queue, now=now)
    chosen = builder.chosen(room, str(fill_id or 0))
    reasons = builder.reasons_json()
    stratum = builder.stratum_name("st")
    sql = (
        f"{chosen.text} INSERT INTO {builder.item} (queue_id, interaction_id, fill_id, reasons, "
        "inclusion_probability, source_probability, stratum, stratum_fraction, priority, state, "
        "annotations_wanted, annotations_done, leases_active, skips, created_at, updated_at) "
        f"SELECT %s, id, %s, {reasons.text}, probability, source_probability, {stratum.text}, "
        "fraction, priority, 'open', %s, 0, 0, 0, %s, %s "
        "FROM chosen WHERE 1 = 1 ORDER BY priority DESC, id DESC "
        "ON CONFLICT (queue_id, interaction_id) DO NOTHING"
    )
    params = [
        *chosen.params,
        queue.pk,
        fill_id,
        *reasons.params,
        *stratum.params,
        queue.overlap,
        now,
        now,
    ]
    with connection.cursor() as cursor:
        without_jit(cursor)
        cursor.execute(sql, params)
        added = cursor.rowcount
    if added < 0:  # SQLite does not count rows inserted by a statement with a CTE.
        added = QueueItem.objects.filter(queue=queue, fill_id=fill_id).count()
    by_reason = reason_counts(QueueItem.objects.filter(fill_id=fill_id)) if fill_id else {}
    strata = fill_strata(fill_id, order=builder.order) if fill_id else {}
    return FillOutcome(added=added, by_reason=by_reason, room=room, strata=strata)
