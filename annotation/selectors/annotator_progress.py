"""An annotator's progress in a queue: done today, left for them, their share of the queue's work.

Read on every workspace swap (submit and next), so each figure is one indexed query: the
annotator's own counts come from their annotations (index on annotator, created_at); the items
left for them are counted up to `LEFT_CAP` (an anti-join that stops there); the queue's total of
annotations, the same for every annotator, is cached for `TOTAL_SECONDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from annotation.models import Annotation, Lease, LeaseState, Queue, QueueItem
from annotation.models.review import ItemState

LEFT_CAP = 1000
TOTAL_SECONDS = 30
_TAKEABLE = (ItemState.OPEN, ItemState.IN_PROGRESS)


@dataclass(frozen=True)
class AnnotatorProgress:
    done_today: int
    done: int
    left: int
    left_capped: bool
    queue_annotations: int

    @property
    def finished(self) -> bool:
        """Nothing in the queue is left for this annotator."""
        return self.left == 0

    @property
    def share(self) -> float:
        """The annotator's share of every annotation made in the queue, in [0, 1]."""
        total = max(self.queue_annotations, self.done)
        return self.done / total if total else 0.0

    @property
    def share_percent(self) -> int:
        return round(self.share * 100)


def start_of_today(now: datetime | None = None) -> datetime:
    """Midnight of the current day in the site's time zone (settings.TIME_ZONE)."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def items_left_for(queue_id: int, annotator: User, *, cap: int = LEFT_CAP) -> int:
    """Unsettled items of the queue the annotator has not annotated, skipped or taken, up to `cap`.

    An expired lease does not count as worked on: that item may be taken again.
    """
    worked_on = Lease.objects.filter(item=OuterRef("pk"), annotator=annotator).exclude(
        state=LeaseState.EXPIRED
    )
    held = Lease.objects.filter(item=OuterRef("pk"), annotator=annotator, state=LeaseState.ACTIVE)
    # The item in front of the annotator is still left for them until they submit it.
    return (
        QueueItem.objects.filter(queue_id=queue_id, state__in=_TAKEABLE)
        .filter(~Exists(worked_on) | Exists(held))
        # No ordering: the scan stops at `cap` rows instead of sorting the whole queue first.
        .order_by()
        .values("pk")[:cap]
        .count()
    )


def queue_annotation_total(queue: Queue) -> int:
    """Annotations made in the queue (cached briefly: every annotator's swap reads it)."""
    # The creation time keeps a recreated queue (same id in a fresh database) from old figures.
    key = f"queue-annotations:{queue.pk}:{queue.created_at.timestamp() if queue.created_at else 0}"
    total = cache.get(key)
    if total is None:
        total = (
            QueueItem.objects.filter(queue_id=queue.pk).aggregate(n=Sum("annotations_done"))["n"]
            or 0
        )
        cache.set(key, total, TOTAL_SECONDS)
    return int(total)


def annotator_progress(
    queue: Queue, annotator: User, *, now: datetime | None = None
) -> AnnotatorProgress:
    """The workspace's counter: done today and in all, left for them, share of the queue."""
    mine = Annotation.objects.filter(annotator=annotator, item__queue_id=queue.pk).aggregate(
        done=Count("id"), today=Count("id", filter=Q(created_at__gte=start_of_today(now)))
    )
    left = items_left_for(queue.pk, annotator)
    return AnnotatorProgress(
        done_today=mine["today"],
        done=mine["done"],
        left=left,
        left_capped=left >= LEFT_CAP,
        queue_annotations=queue_annotation_total(queue),
    )


def last_annotation_id(queue: Queue, annotator: User) -> int | None:
    """The annotator's latest annotation in the queue: the workspace's "previous item"."""
    return (
        Annotation.objects.filter(annotator=annotator, item__queue_id=queue.pk)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )


def annotator_progress_by_queue(
    queues: list[Queue], annotator: User, *, now: datetime | None = None
) -> dict[int, AnnotatorProgress]:
    """`annotator_progress` for every queue of the home page, in three queries for them all."""
    ids = [queue.pk for queue in queues]
    if not ids:
        return {}
    mine = {
        row["item__queue_id"]: row
        for row in Annotation.objects.filter(annotator=annotator, item__queue_id__in=ids)
        .values("item__queue_id")
        .annotate(
            done=Count("id"), today=Count("id", filter=Q(created_at__gte=start_of_today(now)))
        )
        .order_by()
    }
    worked_on = Lease.objects.filter(item=OuterRef("pk"), annotator=annotator).exclude(
        state=LeaseState.EXPIRED
    )
    held = Lease.objects.filter(item=OuterRef("pk"), annotator=annotator, state=LeaseState.ACTIVE)
    left = dict(
        QueueItem.objects.filter(queue_id__in=ids, state__in=_TAKEABLE)
        .filter(~Exists(worked_on) | Exists(held))
        .values("queue_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("queue_id", "n")
    )
    totals = dict(
        QueueItem.objects.filter(queue_id__in=ids)
        .values("queue_id")
        .annotate(n=Sum("annotations_done"))
        .order_by()
        .values_list("queue_id", "n")
    )
    progress = {}
    for queue_id in ids:
        counts = mine.get(queue_id, {"done": 0, "today": 0})
        remaining = min(left.get(queue_id, 0), LEFT_CAP)
        progress[queue_id] = AnnotatorProgress(
            done_today=counts["today"],
            done=counts["done"],
            left=remaining,
            left_capped=remaining >= LEFT_CAP,
            queue_annotations=int(totals.get(queue_id) or 0),
        )
    return progress
