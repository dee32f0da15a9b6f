"""Reading a queue's counters (`QueueCounter`): items by state and reason, work by annotator.

One grouped query for any number of queues, over the counter rows only (a handful per queue and
name once compacted), never over the queue's items or annotations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Sum

from annotation.models.review import UNFINISHED_STATES, ItemState, QueueCounter


@dataclass
class QueueCounts:
    by_state: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in ItemState})
    by_reason: dict[str, int] = field(default_factory=dict)
    done_by: dict[int, int] = field(default_factory=dict)
    skipped_by: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def unfinished(self) -> int:
        return sum(self.by_state.get(state, 0) for state in UNFINISHED_STATES)


def queue_counts_for(queue_ids: Iterable[int]) -> dict[int, QueueCounts]:
    """The counts of each queue (every id gets an entry, zero when it has no rows)."""
    ids = list(queue_ids)
    counts = {pk: QueueCounts() for pk in ids}
    if not ids:
        return counts
    rows = (
        QueueCounter.objects.filter(queue_id__in=ids)
        .values_list("queue_id", "kind", "name")
        .annotate(n=Sum("delta"))
        .order_by()
    )
    for queue_id, kind, name, n in rows:
        target = counts[queue_id]
        if kind == "state":
            target.by_state[name] = int(n)
        elif kind == "reason" and n:
            target.by_reason[name] = int(n)
        elif kind == "done_by" and n:
            target.done_by[int(name)] = int(n)
        elif kind == "skipped_by" and n:
            target.skipped_by[int(name)] = int(n)
    for target in counts.values():
        target.by_reason = dict(sorted(target.by_reason.items()))
    return counts


def queue_counts(queue_id: int) -> QueueCounts:
    return queue_counts_for([queue_id])[queue_id]
