"""How a queue item's state follows from its slots, who is left to fill them, and agreement.

Used under the item's row lock by every service that changes an item's annotations or leases
(submit, revise, skip, skip undo, the release of a removed annotator's lease). The rules are the
state diagram in `annotation.models.review`:

- all `annotations_wanted` slots annotated: `done` if the annotators agree on every `agreement`
  field (or a lead adjudicated), else `needs_adjudication`;
- the item can no longer reach its overlap (too few assigned annotators left who neither annotated
  nor skipped it): it is settled on what it has. No annotations: `skipped`. At least the queue's
  `min_annotations_to_settle`: `done` or `needs_adjudication` as above. Fewer: `needs_adjudication`,
  so a lead decides; annotations are never dropped;
- otherwise `open` while a slot is free, `in_progress` while every free slot is leased.
"""

from __future__ import annotations

from datetime import datetime

from annotation.models.interaction import Interaction
from annotation.models.review import (
    UNFINISHED_STATES,
    Annotation,
    ItemState,
    Lease,
    LeaseState,
    QueueItem,
)
from annotation.schemas.label_schema import FieldSpec, disagreements, parse_schema
from annotation.services.rollups import rollups_mark_interactions


def min_to_settle(item: QueueItem) -> int:
    """Fewest annotations the item is settled on when it cannot reach its overlap."""
    wanted = item.annotations_wanted
    setting = item.queue.min_annotations_to_settle
    return wanted if setting is None else max(1, min(setting, wanted))


def item_unfinishable(item: QueueItem) -> bool:
    """Whether too few assigned members are left (not done with it, not skipped) to finish it.

    One query. Annotators holding a lease on it count as left: their work is still to come.
    """
    out = Lease.objects.filter(
        item_id=item.pk, state__in=[LeaseState.SUBMITTED, LeaseState.SKIPPED]
    ).values("annotator_id")
    eligible = (
        item.queue.annotators.filter(memberships__project_id=item.queue.project_id)
        .exclude(pk__in=out)
        .count()
    )
    return eligible < item.annotations_wanted - item.annotations_done


def item_state_settle(
    item: QueueItem,
    now: datetime,
    *,
    unfinishable: bool = False,
    fields: list[FieldSpec] | None = None,
) -> None:
    """Set `item.state` (and `finished_at`) from its counts; the caller holds its lock and saves.

    `unfinishable` says the caller found the overlap out of reach (`item_unfinishable`). An item
    already settled short of its overlap (an annotation arrived from a lease held when it was
    settled, or a revision) is settled again on what it has, never reopened.
    """
    complete = item.annotations_done >= item.annotations_wanted
    settled_short = not complete and item.state not in UNFINISHED_STATES
    if not (complete or unfinishable or settled_short):
        item.state = ItemState.OPEN if item.free_slots > 0 else ItemState.IN_PROGRESS
        item.finished_at = None
        return
    if item.annotations_done == 0:
        item.state = ItemState.SKIPPED
        item.finished_at = None
        return
    if not complete and item.annotations_done < min_to_settle(item):
        item.state = ItemState.NEEDS_ADJUDICATION
        item.finished_at = None
        return
    fields = fields if fields is not None else parse_schema(item.queue.schema)
    values = list(Annotation.objects.filter(item_id=item.pk).values_list("values", flat=True))
    if disagreements(fields, values) and not hasattr(item, "adjudication"):
        item.state = ItemState.NEEDS_ADJUDICATION
        item.finished_at = None
    else:
        item.state = ItemState.DONE
        item.finished_at = now
        rollups_mark_interactions(interactions=Interaction.objects.filter(pk=item.interaction_id))
