"""Leasing queue items to annotators: next, skip and its undo, and the return of leases.

Every change to an item's slots happens under the item's row lock. `lease_next` picks its item
with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent annotators each get a different row and
never wait on one another; an item with overlap k is offered again, under its lock, until k slots
are annotated or held. The database keeps one active lease per annotator and queue, so concurrent
calls of one annotator end with one item. Every lease, submit, revise and skip re-reads the
caller's membership and assignment in the query it already makes; someone removed is refused
(`NotAssigned`, 403) and their active leases in the queue are handed back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.utils import timezone

from annotation.errors import Conflict
from annotation.models import Membership
from annotation.models.review import (
    UNFINISHED_STATES,
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Queue,
    QueueItem,
    QueueState,
)
from annotation.selectors.queue_brief import queue_brief
from annotation.selectors.queues import guideline_for_queue
from annotation.services.item_state import item_state_settle, item_unfinishable
from annotation.services.lease_statement import lease_statement


class ReviewError(Conflict):
    """A request the review services refuse (409 unless the error says otherwise)."""


@dataclass(frozen=True)
class Leased:
    item: QueueItem
    lease: Lease
    guideline: Guideline | None
    # The queue as read again when the caller's copy (a cached definition) was older.
    queue: Queue | None = None


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


class NotAssigned(ReviewError):
    """The caller left the queue's project or the queue; their active leases there are released."""

    def __init__(self, queue: Queue, *, member: bool) -> None:
        if member:
            message = (
                f"You are not assigned to queue '{queue.name}'; ask a lead of "
                f"{queue.project.name} to add you."
            )
        else:
            message = (
                f"You are no longer a member of project {queue.project.name}, so you cannot work "
                f"on queue '{queue.name}'; ask one of its leads to add you again."
            )
        super().__init__(message, code="not_assigned", status=403)
        self.queue_id = queue.pk


def standing_annotations(
    *, annotator_id: int, queue_id: int | OuterRef, project_id: int | OuterRef
) -> tuple[Exists, Exists]:
    """Two EXISTS for one SELECT, (is_member, is_assigned): a member of the project (any role,
    annotator or above) and assigned to the queue. Asked on every lease, submit, revise and skip,
    so a removed annotator cannot write with a lease or an annotation from before."""
    return (
        Exists(Membership.objects.filter(project_id=project_id, user_id=annotator_id)),
        Exists(Queue.annotators.through.objects.filter(queue_id=queue_id, user_id=annotator_id)),
    )


def standing_of(queue: Queue, annotator: User) -> tuple[bool, bool]:
    """(member of the queue's project, assigned to the queue), in one query."""
    is_member, is_assigned = standing_annotations(
        annotator_id=annotator.pk, queue_id=queue.pk, project_id=queue.project_id
    )
    row = (
        Queue.objects.filter(pk=queue.pk)
        .annotate(is_member=is_member, is_assigned=is_assigned)
        .values_list("is_member", "is_assigned")
        .first()
    )
    return (bool(row[0]), bool(row[1])) if row else (False, False)


@contextmanager
def released_when_refused(annotator: User, now: datetime) -> Iterator[None]:
    """Around a service's transaction: on NotAssigned, release the caller's leases in that queue
    (after the rollback, in a transaction of their own) so their slots free, then re-raise."""
    try:
        yield
    except NotAssigned as refusal:
        leases_release(queue_id=refusal.queue_id, annotator_id=annotator.pk, now=now)
        raise


def leases_release(*, queue_id: int, annotator_id: int, now: datetime | None = None) -> int:
    """Hand back an annotator's active leases in a queue (as expired); returns how many.

    Each item is settled again: without that annotator it may no longer reach its overlap.
    """
    held = Lease.objects.filter(
        queue_id=queue_id, annotator_id=annotator_id, state=LeaseState.ACTIVE
    ).values_list("item_id", "annotator_id")
    return _release(list(held), now or timezone.now())


def leases_release_unassigned(*, queue: Queue, now: datetime | None = None) -> int:
    """Hand back the active leases in `queue` of everyone no longer assigned to it or no longer a
    member of its project; returns how many."""
    staying = queue.annotators.filter(memberships__project_id=queue.project_id).values("pk")
    held = (
        Lease.objects.filter(queue=queue, state=LeaseState.ACTIVE)
        .exclude(annotator_id__in=staying)
        .values_list("item_id", "annotator_id")
    )
    return _release(list(held), now or timezone.now())


def _release(held: list[tuple[int, int]], now: datetime) -> int:
    released = 0
    # Items locked in id order, as every service that locks several does, so none deadlock.
    for item_id, annotator_id in sorted(held):
        with transaction.atomic():
            item = item_lock(item_id)
            lease = Lease.objects.filter(
                item_id=item_id, annotator_id=annotator_id, state=LeaseState.ACTIVE
            ).first()
            if lease is None:
                continue
            _hand_back(item, lease, now)
            item.save(update_fields=["leases_active", "state", "finished_at", "updated_at"])
            released += 1
    return released


def _hand_back(item: QueueItem, lease: Lease, now: datetime) -> None:
    """End an active lease early and settle its item (caller holds the item's lock and saves it)."""
    lease.state = LeaseState.EXPIRED
    lease.finished_at = now
    lease.save(update_fields=["state", "finished_at"])
    item.leases_active -= 1
    if item.state in UNFINISHED_STATES:
        item_state_settle(item, now, unfinishable=item_unfinishable(item))
    item.updated_at = now


def _current_lease(queue: Queue, annotator: User, now: datetime) -> Leased | None:
    """The caller's unexpired lease in the queue with its item; a lapsed one is expired first,
    so it never blocks their next lease (one active lease per annotator and queue)."""
    # Almost always None: look up the lease alone, and its item only when there is one.
    lease = (
        Lease.objects.filter(queue=queue, annotator=annotator, state=LeaseState.ACTIVE)
        .order_by("expires_at")
        .first()
    )
    if lease is None:
        return None
    if lease.expires_at <= now:
        with transaction.atomic():
            item = item_lock(lease.item_id)
            lease = Lease.objects.get(pk=lease.pk)
            if lease.state == LeaseState.ACTIVE:
                lease_release_expired(item, lease, now)
                item.updated_at = now
                item.save(update_fields=["leases_active", "state", "updated_at"])
        return None
    lease.item = QueueItem.objects.select_related("interaction").get(pk=lease.item_id)
    lease.guideline = Guideline.objects.get(pk=lease.guideline_id) if lease.guideline_id else None
    return Leased(item=lease.item, lease=lease, guideline=lease.guideline)


def lease_next(*, queue: Queue, annotator: User, now: datetime | None = None) -> Leased | None:
    """Lease the caller the best item they have not worked on; None when nothing is left.

    An annotator holding an unexpired lease in the queue gets that item again (a reloaded page
    does not take a second slot). The database holds one active lease per annotator and queue
    (`lease_one_active_per_queue`), so two concurrent calls of one annotator get the same item.
    On PostgreSQL one statement does it all (`lease_statement`); SQLite takes the same steps one
    query at a time.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _lease_next_in_one_statement(queue, annotator, now)
    member, assigned = standing_of(queue, annotator)
    if not (member and assigned):
        _refuse(queue, annotator, now, member=member)
    if queue.state != QueueState.ACTIVE:
        _refuse_state(queue, queue.state)
    held = _current_lease(queue, annotator, now)
    if held is not None:
        return held
    leases_expire(queue_id=queue.pk, now=now)
    guideline = guideline_for_queue(queue)
    for _attempt in range(3):
        try:
            return _lease_new(queue, annotator, guideline, now)
        except IntegrityError:
            # A concurrent call of the same annotator leased first; its lease is the answer.
            held = _current_lease(queue, annotator, now)
            if held is not None:
                return held
    raise _conflict(queue)


def _refuse(queue: Queue, annotator: User, now: datetime, *, member: bool) -> NoReturn:
    leases_release(queue_id=queue.pk, annotator_id=annotator.pk, now=now)
    if not member:
        raise ReviewError(
            f"Queue {queue.pk} not found, or not visible to you.", code="not_found", status=404
        )
    raise NotAssigned(queue, member=True)


def _refuse_state(queue: Queue, state: str) -> NoReturn:
    raise ReviewError(
        f"Queue '{queue.name}' is {state}; a lead can set it to active.", code=f"queue_{state}"
    )


def _conflict(queue: Queue) -> ReviewError:
    return ReviewError(
        f"Another request of yours is leasing from queue '{queue.name}'; call next again.",
        code="lease_conflict",
    )


def _lease_next_in_one_statement(queue: Queue, annotator: User, now: datetime) -> Leased | None:
    """One round trip in the common case; lapsed leases cost a sweep and a second statement."""
    swept = False
    for _attempt in range(4):
        try:
            outcome = lease_statement(queue=queue, annotator=annotator, now=now)
        except IntegrityError:
            # A concurrent call of the same annotator leased first; the next run returns it.
            continue
        if not outcome.exists:
            raise ReviewError(
                f"Queue {queue.pk} not found, or not visible to you.", code="not_found", status=404
            )
        if not (outcome.member and outcome.assigned):
            _refuse(queue, annotator, now, member=outcome.member)
        if outcome.queue_state != QueueState.ACTIVE:
            _refuse_state(queue, str(outcome.queue_state))
        if outcome.lapsed:
            # Their own lapsed lease blocks a new one (one active lease per queue): expire it.
            _current_lease(queue, annotator, now)
            continue
        if outcome.kind is None:
            if outcome.due and not swept:
                # Lapsed leases nobody swept yet may hold the free slots: return them, pick again.
                swept = True
                leases_expire(queue_id=queue.pk, now=now)
                continue
            return None
        assert outcome.item is not None and outcome.lease is not None
        if outcome.due and not swept:
            # Lapsed leases return to the pool on every `next` that sees them (and every minute).
            leases_expire(queue_id=queue.pk, now=now)
        fresh = None
        if outcome.queue_updated_at != queue.updated_at:
            fresh = queue_brief(queue.pk, fresh=True)
        return Leased(
            item=outcome.item, lease=outcome.lease, guideline=outcome.guideline, queue=fresh
        )
    raise _conflict(queue)


def _lease_new(
    queue: Queue, annotator: User, guideline: Guideline | None, now: datetime
) -> Leased | None:
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
        # excluded above), which is renewed: one statement either way. A second active lease of
        # the caller in this queue violates lease_one_active_per_queue (IntegrityError).
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
        raise ReviewError(f"No queue item {item_id}.", code="not_found", status=404)
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


def _lease_with_standing(item: QueueItem, annotator: User) -> Lease | None:
    """The caller's lease row on the item, if any, with `is_member` and `is_assigned` (one query).

    Without a lease row, a non-member gets a 404 and a member not assigned a 403 here.
    """
    is_member, is_assigned = standing_annotations(
        annotator_id=annotator.pk, queue_id=item.queue_id, project_id=item.queue.project_id
    )
    lease = (
        Lease.objects.filter(item=item, annotator=annotator)
        .annotate(is_member=is_member, is_assigned=is_assigned)
        .first()
    )
    if lease is None:
        member, assigned = standing_of(item.queue, annotator)
        if not member:
            raise ReviewError(f"No queue item {item.pk}.", code="not_found", status=404)
        if not assigned:
            raise NotAssigned(item.queue, member=True)
        return None
    if not (lease.is_member and lease.is_assigned):
        raise NotAssigned(item.queue, member=lease.is_member)
    return lease


def holder_lease(item: QueueItem, annotator: User, now: datetime) -> Lease:
    """The caller's lease on the item, or the specific reason they have none.

    Raises NotAssigned (403) for a caller no longer a member of the project or assigned to the
    queue, whatever lease they hold; callers wrap their transaction in `released_when_refused`.
    """
    lease = _lease_with_standing(item, annotator)
    if lease is None:
        taken = Lease.objects.filter(
            item=item, state=LeaseState.ACTIVE, expires_at__gt=now
        ).exists()
        if taken:
            raise ReviewError(
                f"Item {item.pk} is leased to another annotator, not to you; call "
                f"POST /api/v1/queues/{item.queue_id}/next to get an item of your own.",
                code="not_your_lease",
                status=403,
            )
        raise ReviewError(
            f"You hold no lease on item {item.pk}; call POST /api/v1/queues/{item.queue_id}/next "
            "first.",
            code="no_lease",
        )
    if lease.state == LeaseState.SUBMITTED:
        raise ReviewError(
            f"You already annotated item {item.pk}; change it with PATCH /api/v1/annotations/{{id}}.",
            code="already_submitted",
        )
    if lease.state == LeaseState.SKIPPED:
        raise ReviewError(
            f"You skipped item {item.pk}; undo it with DELETE /api/v1/items/{item.pk}/skip while "
            "the item is open.",
            code="skipped",
        )
    return lease


def lease_skip(*, item_id: int, annotator: User, now: datetime | None = None) -> QueueItem:
    """Give up the caller's slot of an item; it is not offered to them again unless they undo it.

    An item nobody left can bring to its overlap is settled on the annotations it has
    (`item_state_settle`): `skipped` only when it has none.
    """
    now = now or timezone.now()
    with released_when_refused(annotator, now), transaction.atomic():
        item = item_lock(item_id)
        lease = holder_lease(item, annotator, now)
        if lease.state == LeaseState.ACTIVE:
            item.leases_active -= 1
        lease.state = LeaseState.SKIPPED
        lease.finished_at = now
        lease.save(update_fields=["state", "finished_at"])
        item.skips += 1
        if item.state in UNFINISHED_STATES:
            item_state_settle(item, now, unfinishable=item_unfinishable(item))
        item.updated_at = now
        item.save(update_fields=["leases_active", "skips", "state", "finished_at", "updated_at"])
    return item


def skip_undo(*, item_id: int, annotator: User, now: datetime | None = None) -> Leased:
    """Take back the caller's skip while the item is not settled.

    With a free slot the item is leased to them again (a lease they hold on another item of the
    queue is handed back: one item at a time); without one it is offered to them again once a
    slot frees. The returned lease says which (`state` active or expired).
    """
    now = now or timezone.now()
    with released_when_refused(annotator, now), transaction.atomic():
        queue_id = QueueItem.objects.filter(pk=item_id).values_list("queue_id", flat=True).first()
        if queue_id is None:
            raise ReviewError(f"No queue item {item_id}.", code="not_found", status=404)
        other_id = (
            Lease.objects.filter(queue_id=queue_id, annotator=annotator, state=LeaseState.ACTIVE)
            .exclude(item_id=item_id)
            .values_list("item_id", flat=True)
            .first()
        )
        # Both items locked in id order, as every other service that locks two would.
        locked = {
            pk: item_lock(pk) for pk in sorted({item_id} | ({other_id} if other_id else set()))
        }
        item = locked[item_id]
        lease = _lease_with_standing(item, annotator)
        if lease is None or lease.state != LeaseState.SKIPPED:
            raise ReviewError(
                f"You have not skipped item {item.pk}; nothing to undo.", code="not_skipped"
            )
        if item.state not in (*UNFINISHED_STATES, ItemState.SKIPPED):
            raise ReviewError(
                f"Item {item.pk} is {item.state}; a skip can be undone only while the item is open.",
                code="item_settled",
            )
        was_retired = item.state == ItemState.SKIPPED
        item.state = ItemState.OPEN
        if item.free_slots > 0:
            if other_id is not None:
                other = locked[other_id]
                other_lease = Lease.objects.get(
                    item_id=other_id, annotator=annotator, state=LeaseState.ACTIVE
                )
                _hand_back(other, other_lease, now)
                other.save(update_fields=["leases_active", "state", "finished_at", "updated_at"])
            lease.state = LeaseState.ACTIVE
            lease.guideline = guideline_for_queue(item.queue)
            lease.leased_at = now
            lease.expires_at = now + timedelta(minutes=item.queue.lease_minutes)
            lease.finished_at = None
            item.leases_active += 1
        else:
            # Every free slot is leased: theirs to take again when one comes back.
            lease.state = LeaseState.EXPIRED
            lease.finished_at = now
        lease.save(update_fields=["state", "guideline", "leased_at", "expires_at", "finished_at"])
        item.skips -= 1
        unfinishable = item_unfinishable(item)
        if unfinishable and was_retired:
            raise ReviewError(
                f"Item {item.pk} cannot reach its overlap even with you; it stays skipped.",
                code="item_settled",
            )
        item_state_settle(item, now, unfinishable=unfinishable)
        item.updated_at = now
        item.save(update_fields=["leases_active", "skips", "state", "finished_at", "updated_at"])
    guideline = lease.guideline if lease.guideline_id else None
    return Leased(item=item, lease=lease, guideline=guideline)
