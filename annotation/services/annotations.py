"""Submitting, revising and adjudicating annotations, and settling the item's state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import OuterRef
from django.utils import timezone

from annotation.models import Interaction, Membership, Role
from annotation.models.review import (
    REVISABLE_STATES,
    UNFINISHED_STATES,
    Adjudication,
    Annotation,
    ItemState,
    LeaseState,
    QueueItem,
)
from annotation.schemas.label_schema import (
    FieldError,
    FieldSpec,
    parse_schema,
    values_errors,
)
from annotation.selectors.queues import guideline_for_queue
from annotation.services.item_state import item_state_settle, item_unfinishable
from annotation.services.leasing import (
    NotAssigned,
    ReviewError,
    holder_lease,
    item_lock,
    lease_release_expired,
    released_when_refused,
    standing_annotations,
)
from annotation.services.rollups import rollups_mark_interactions
from annotation.services.submit_fast import next_state, plain_case, submit_read, submit_write

MAX_SECONDS = 24 * 3600


class AnnotationInvalid(ReviewError):
    """Values that do not match the queue's schema; `errors` lists each field's problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            "The values do not match the queue's label schema; fix the fields in details.errors.",
            code="invalid_annotation",
            status=400,
            details={"errors": [error.as_dict() for error in errors]},
        )
        self.errors = errors


def _validate(item: QueueItem, values: Any) -> list[FieldSpec]:
    fields = parse_schema(item.queue.schema)
    documents = [
        str(doc.get("id"))
        for doc in item.interaction.retrieved_context or []
        if isinstance(doc, dict) and doc.get("id") is not None
    ]
    errors = values_errors(
        values, fields=fields, taxonomy=item.queue.project.label_names, document_ids=documents
    )
    if errors:
        raise AnnotationInvalid(errors)
    return fields


def _seconds(seconds: float | None, fallback: float) -> float:
    if seconds is None:
        return round(min(max(fallback, 0.0), MAX_SECONDS), 3)
    if not 0 <= seconds <= MAX_SECONDS:
        raise AnnotationInvalid(
            [FieldError("seconds", f"{seconds} is outside 0-{MAX_SECONDS}; send the seconds spent")]
        )
    return float(seconds)


def annotation_submit(
    *,
    item_id: int,
    annotator: User,
    values: Any,
    seconds: float | None = None,
    now: datetime | None = None,
) -> Annotation:
    """Store the lease holder's annotation, fill their slot, and settle the item.

    Accepted while the lease is valid, or after it lapsed if a slot is still free; refused
    (with a specific ReviewError) without a lease, for someone else's, or a second time, and
    with NotAssigned (403, their leases in the queue released) once the caller left the project
    or the queue. An item settled short of its overlap while their lease was active takes the
    annotation and is settled again on what it then has. On PostgreSQL the plain case takes
    one read and one conditional write (`annotation.services.submit_fast`).
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        fast = _submit_in_two_statements(item_id, annotator, values, seconds, now)
        if fast is not None:
            return fast
    with released_when_refused(annotator, now), transaction.atomic():
        item = item_lock(item_id)
        lease = holder_lease(item, annotator, now)
        fields = _validate(item, values)
        lease_release_expired(item, lease, now)
        if lease.state == LeaseState.ACTIVE:
            item.leases_active -= 1
        elif item.free_slots <= 0 or item.state not in UNFINISHED_STATES:
            raise ReviewError(
                f"Your lease on item {item.pk} expired at {lease.expires_at.isoformat()} and its "
                f"slot went to another annotator; call POST /api/v1/queues/{item.queue_id}/next.",
                code="lease_expired",
            )
        annotation = Annotation.objects.create(
            item=item,
            annotator=annotator,
            values=values,
            guideline=lease.guideline,
            seconds=_seconds(seconds, (now - lease.leased_at).total_seconds()),
            created_at=now,
            updated_at=now,
        )
        lease.state = LeaseState.SUBMITTED
        lease.finished_at = now
        lease.save(update_fields=["state", "finished_at"])
        item.annotations_done += 1
        # A submit by an annotator who was left to do it keeps the item as finishable as it
        # was; only after a skip may it have been out of reach without being settled yet.
        unfinishable = (
            item.skips > 0
            and item.state in UNFINISHED_STATES
            and item.annotations_done < item.annotations_wanted
            and item_unfinishable(item)
        )
        item_state_settle(item, now, unfinishable=unfinishable, fields=fields)
        item.updated_at = now
        item.save(
            update_fields=[
                "annotations_done",
                "leases_active",
                "state",
                "finished_at",
                "updated_at",
            ]
        )
    return annotation


def _submit_in_two_statements(
    item_id: int, annotator: User, values: Any, seconds: float | None, now: datetime
) -> Annotation | None:
    """The plain submit in one read and one conditional write (`submit_fast`); None leaves the
    submit to the locking path (anything unusual, or the item changed in between)."""
    read = submit_read(item_id=item_id, annotator=annotator)
    if read is None or not plain_case(read, now):
        return None
    assert read.lease is not None
    fields = _validate(read.item, values)
    spent = _seconds(seconds, (now - read.lease.leased_at).total_seconds())
    return submit_write(
        read=read,
        annotator=annotator,
        values=values,
        seconds=spent,
        state=next_state(read, fields, values),
        now=now,
    )


def annotation_revise(
    *,
    annotation_id: int,
    annotator: User,
    values: Any,
    seconds: float | None = None,
    now: datetime | None = None,
) -> Annotation:
    """Replace the author's values while the item is not done; records the current guideline.

    Refused with NotAssigned (403) once the author left the project or the queue.
    """
    now = now or timezone.now()
    is_member, is_assigned = standing_annotations(
        annotator_id=annotator.pk,
        queue_id=OuterRef("item__queue_id"),
        project_id=OuterRef("item__queue__project_id"),
    )
    found = (
        Annotation.objects.filter(pk=annotation_id, annotator=annotator)
        .annotate(is_member=is_member, is_assigned=is_assigned)
        .values_list("item_id", "is_member", "is_assigned")
        .first()
    )
    if found is None:
        raise ReviewError(f"No annotation {annotation_id} of yours.", code="not_found", status=404)
    item_id, member, assigned = found
    with released_when_refused(annotator, now), transaction.atomic():
        item = item_lock(item_id)
        if not (member and assigned):
            raise NotAssigned(item.queue, member=member)
        if item.state not in REVISABLE_STATES:
            raise ReviewError(
                f"Item {item.pk} is {item.state}; its annotations can no longer change.",
                code="item_settled",
            )
        fields = _validate(item, values)
        annotation = Annotation.objects.select_for_update().get(pk=annotation_id)
        annotation.values = values
        annotation.revision += 1
        annotation.updated_at = now
        annotation.guideline = guideline_for_queue(item.queue)
        if seconds is not None:
            annotation.seconds = _seconds(seconds, 0.0)
        annotation.save()
        item_state_settle(item, now, fields=fields)
        item.updated_at = now
        item.save(update_fields=["state", "finished_at", "updated_at"])
    return annotation


def item_adjudicate(
    *, item_id: int, lead: User, values: Any, now: datetime | None = None
) -> Adjudication:
    """Record a lead's final values for an item its annotators disagreed on; the item is done."""
    now = now or timezone.now()
    with transaction.atomic():
        item = item_lock(item_id)
        role = (
            Membership.objects.filter(project_id=item.queue.project_id, user=lead)
            .values_list("role", flat=True)
            .first()
        )
        if role is None:
            raise ReviewError(f"No queue item {item.pk}.", code="not_found", status=404)
        if role != Role.LEAD:
            raise ReviewError(
                f"Only a lead of {item.queue.project.name} adjudicates.",
                code="forbidden",
                status=403,
            )
        if item.state != ItemState.NEEDS_ADJUDICATION:
            raise ReviewError(
                f"Item {item.pk} is {item.state}; only items that need adjudication take one.",
                code="not_disputed",
            )
        _validate(item, values)
        adjudication = Adjudication.objects.create(item=item, lead=lead, values=values)
        item.state = ItemState.DONE
        rollups_mark_interactions(interactions=Interaction.objects.filter(pk=item.interaction_id))
        item.finished_at = now
        item.updated_at = now
        item.save(update_fields=["state", "finished_at", "updated_at"])
    return adjudication
