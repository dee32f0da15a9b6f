"""Leasing queue items to annotators: next, skip, and the return of expired leases.

Every change to an item's slots happens under the item's row lock. `lease_next` picks its item
with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent annotators each get a different row and
never wait on one another; an item with overlap k is offered again, under its lock, until k slots
are annotated or held.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.utils import timezone
from rest_framework import status

from annotation.models import Membership
from annotation.models.review import (
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Queue,
    QueueItem,
    QueueState,
)
from annotation.selectors.queues import guideline_for_queue


class ReviewError(Exception):
    """A request the review services refuse; `code` and `status` map to the API's error envelope."""

    def __init__(
        self, code: str, message: str, *, status_code: int = status.HTTP_409_CONFLICT
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class Leased:
    item: QueueItem
    lease: Lease
    guideline: Guideline | None


def leases_expire(*, queue_id: int | None = None, now: datetime | None = None) -> int:
    """Mark leases past their expiry as expired and free their slots; returns how many.

    Items are locked before leases, in id order, as `annotation_submit` does, so the two never
    deadlock; items locked by a submit in flight are left for the next sweep.
    """
    now = now or timezone.now()
    due = Lease.objects.filter(state=LeaseState.ACTIVE, expires_at__lte=now)
    if queue_id is not None:
        due = due.filter(queue_id=queue_id)
    item_ids = list(due.values_list("item_id", flat=True).distinct()[:1000])
    if not item_ids:
        return 0
    with transaction.atomic():
        locked = list(
            QueueItem.objects.select_for_update(skip_locked=True)
            .filter(pk__in=item_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not locked:
            return 0
        # Counted by the UPDATE itself (RETURNING), so the slots freed are exactly those expired.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Lease._meta.db_table} SET state = %s, finished_at = %s "  # noqa: S608
                f"WHERE state = %s AND expires_at <= %s AND item_id IN ({', '.join(['%s'] * len(locked))}) "
                "RETURNING item_id",
                [LeaseState.EXPIRED, now, LeaseState.ACTIVE, now, *locked],
            )
            per_item = Counter(item_id for (item_id,) in cursor.fetchall())
        by_count: dict[int, list[int]] = {}
        for item_id, count in per_item.items():
            by_count.setdefault(count, []).append(item_id)
        for count, ids in by_count.items():
            QueueItem.objects.filter(pk__in=ids).update(
                leases_active=F("leases_active") - count,
                state=Case(
                    When(state=ItemState.IN_PROGRESS, then=Value(ItemState.OPEN)),
                    default=F("state"),
                ),
                updated_at=now,
            )
    return sum(per_item.values())


def _current_lease(queue: Queue, annotator: User, now: datetime) -> Lease | None:
    # Almost always None: look up the lease alone, and its item only when there is one.
    lease = (
        Lease.objects.filter(
            queue=queue, annotator=annotator, state=LeaseState.ACTIVE, expires_at__gt=now
        )
        .order_by("expires_at")
        .first()
    )
    if lease is not None:
        lease.item = QueueItem.objects.select_related("interaction").get(pk=lease.item_id)
        lease.guideline = (
            Guideline.objects.get(pk=lease.guideline_id) if lease.guideline_id else None
        )
    return lease


def lease_next(*, queue: Queue, annotator: User, now: datetime | None = None) -> Leased | None:
    """Lease the caller the best item they have not worked on; None when nothing is left.

    An annotator holding an unexpired lease in the queue gets that item again (a reloaded page
    does not take a second slot).
    """
    now = now or timezone.now()
    if not queue.annotators.filter(pk=annotator.pk).exists():
        if not Membership.objects.filter(project_id=queue.project_id, user=annotator).exists():
            raise ReviewError(
                "not_found",
                f"Queue {queue.pk} not found, or not visible to you.",
                status_code=status.HTTP_404_NOT_FOUND,
            )
        raise ReviewError(
            "not_assigned",
            f"You are not assigned to queue '{queue.name}'; ask a lead of "
            f"{queue.project.name} to add you.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    if queue.state != QueueState.ACTIVE:
        raise ReviewError(
            f"queue_{queue.state}",
            f"Queue '{queue.name}' is {queue.state}; a lead can set it to active.",
        )
    held = _current_lease(queue, annotator, now)
    if held is not None:
        return Leased(item=held.item, lease=held, guideline=held.guideline)
    leases_expire(queue_id=queue.pk, now=now)
    guideline = guideline_for_queue(queue)
    with transaction.atomic():
        # Expired leases do not count: an annotator whose lease lapsed may take the item again.
        worked_on = Lease.objects.filter(item=OuterRef("pk"), annotator=annotator).exclude(
            state=LeaseState.EXPIRED
        )
        item = (
            QueueItem.objects.filter(queue=queue, state=ItemState.OPEN)
            .exclude(Exists(worked_on))
            .order_by("-priority", "id")
            .select_related("interaction")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if item is None:
            return None
        lease = Lease(
            item=item,
            queue=queue,
            annotator=annotator,
            guideline=guideline,
            leased_at=now,
            expires_at=now + timedelta(minutes=queue.lease_minutes),
        )
        # Under the item's lock the caller can only have an expired row for it (others are
        # excluded above), which is renewed: one statement either way.
        Lease.objects.bulk_create(
            [lease],
            update_conflicts=True,
            unique_fields=["item", "annotator"],
            update_fields=["state", "guideline", "leased_at", "expires_at", "finished_at"],
        )
        item.leases_active += 1
        if item.free_slots == 0:
            item.state = ItemState.IN_PROGRESS
        item.updated_at = now
        item.save(update_fields=["leases_active", "state", "updated_at"])
    return Leased(item=item, lease=lease, guideline=guideline)


def item_lock(item_id: int) -> QueueItem:
    """The item, locked for this transaction, with its queue and project.

    Of the interaction only what validation reads is loaded: this is the submit hot path.
    """
    item = (
        QueueItem.objects.select_for_update(of=("self",))
        .select_related("queue__project", "interaction")
        .only(
            *(f.name for f in QueueItem._meta.concrete_fields),
            "queue__project__name",
            "queue__project__taxonomy",
            "interaction__retrieved_context",
            *(f"queue__{f.name}" for f in Queue._meta.concrete_fields),
        )
        .filter(pk=item_id)
        .order_by()
        .first()
    )
    if item is None:
        raise ReviewError(
            "not_found", f"No queue item {item_id}.", status_code=status.HTTP_404_NOT_FOUND
        )
    return item


def lease_release_expired(item: QueueItem, lease: Lease, now: datetime) -> None:
    """Expire `lease` now if its time is up but no sweep has noticed yet (caller holds the lock)."""
    if lease.state == LeaseState.ACTIVE and lease.expires_at <= now:
        lease.state = LeaseState.EXPIRED
        lease.finished_at = now
        lease.save(update_fields=["state", "finished_at"])
        item.leases_active -= 1
        if item.state == ItemState.IN_PROGRESS:
            item.state = ItemState.OPEN


def holder_lease(item: QueueItem, annotator: User, now: datetime) -> Lease:
    """The caller's lease on the item, or the specific reason they have none."""
    lease = Lease.objects.filter(item=item, annotator=annotator).first()
    if (
        lease is None
        and not Membership.objects.filter(project_id=item.queue.project_id, user=annotator).exists()
    ):
        raise ReviewError(
            "not_found", f"No queue item {item.pk}.", status_code=status.HTTP_404_NOT_FOUND
        )
    if lease is None:
        taken = Lease.objects.filter(
            item=item, state=LeaseState.ACTIVE, expires_at__gt=now
        ).exists()
        if taken:
            raise ReviewError(
                "not_your_lease",
                f"Item {item.pk} is leased to another annotator, not to you; call "
                f"POST /api/v1/queues/{item.queue_id}/next to get an item of your own.",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        raise ReviewError(
            "no_lease",
            f"You hold no lease on item {item.pk}; call POST /api/v1/queues/{item.queue_id}/next "
            "first.",
        )
    if lease.state == LeaseState.SUBMITTED:
        raise ReviewError(
            "already_submitted",
            f"You already annotated item {item.pk}; change it with PATCH /api/v1/annotations/{{id}}.",
        )
    if lease.state == LeaseState.SKIPPED:
        raise ReviewError("skipped", f"You skipped item {item.pk}; it is no longer yours.")
    return lease


def lease_skip(*, item_id: int, annotator: User, now: datetime | None = None) -> QueueItem:
    """Give up the caller's slot of an item for good; the item may retire as `skipped`."""
    now = now or timezone.now()
    with transaction.atomic():
        item = item_lock(item_id)
        lease = holder_lease(item, annotator, now)
        if lease.state == LeaseState.ACTIVE:
            item.leases_active -= 1
        lease.state = LeaseState.SKIPPED
        lease.finished_at = now
        lease.save(update_fields=["state", "finished_at"])
        item.skips += 1
        if item.state in (ItemState.OPEN, ItemState.IN_PROGRESS):
            item.state = ItemState.SKIPPED if _unfinishable(item) else ItemState.OPEN
        item.updated_at = now
        item.save(update_fields=["leases_active", "skips", "state", "updated_at"])
    return item


def _unfinishable(item: QueueItem) -> bool:
    """Whether too few assigned annotators are left (not done with it, not skipped) to finish it."""
    out = Lease.objects.filter(
        item=item, state__in=[LeaseState.SUBMITTED, LeaseState.SKIPPED]
    ).values("annotator_id")
    eligible = item.queue.annotators.exclude(pk__in=out).count()
    return eligible < item.annotations_wanted - item.annotations_done
