"""Interactions a lead picked by hand (the explorer's "send to queue") added to a queue.

A manual item has the reason `manual`, the stratum `manual`, no fill and an inclusion
probability of 1: it is certain to be in the queue because someone chose it, which is not the
probability of a sampling design. Hand-picked interactions are not a sample of anything, so
weighted estimates (the review rollups' Hájek sums and reviewed counts) leave manual items out
(`MANUAL_ITEMS`); they are reviewed, settled and exported like any other item, with
`reasons: ["manual"]` to tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.models import AuditEvent, Interaction, Queue, QueueItem
from annotation.models.review import MANUAL, QueueState

MAX_MANUAL_ITEMS = 5_000
_BATCH = 1_000


class ManualAddError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ManualAddOutcome:
    added: int
    # Already in the queue (by any reason): left as they are.
    already: int
    # Not interactions of the queue's project (or no longer there): refused.
    refused: int


def queue_add_interactions(
    *, queue: Queue, interaction_ids: Iterable[int], added_by: User | None = None
) -> ManualAddOutcome:
    """Add these interactions of the queue's project to it as `manual` items; writes an audit
    event. Refuses archived queues and more than MAX_MANUAL_ITEMS ids at once."""
    ids = list(dict.fromkeys(int(pk) for pk in interaction_ids))
    if not ids:
        raise ManualAddError("interactions", "Select at least one interaction to send")
    if len(ids) > MAX_MANUAL_ITEMS:
        raise ManualAddError(
            "interactions", f"{len(ids):,} interactions; send at most {MAX_MANUAL_ITEMS:,} at once"
        )
    now = timezone.now()
    with transaction.atomic():
        # Fills hold this row lock while they insert: the two never interleave.
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        if locked.state == QueueState.ARCHIVED:
            raise ManualAddError("queue", f"Queue {locked.name!r} is archived; it takes no items")
        valid = list(
            Interaction.objects.filter(project_id=locked.project_id, pk__in=ids).values_list(
                "pk", flat=True
            )
        )
        present = set(
            QueueItem.objects.filter(queue=locked, interaction_id__in=valid).values_list(
                "interaction_id", flat=True
            )
        )
        new = [pk for pk in ids if pk in set(valid) and pk not in present]
        for start in range(0, len(new), _BATCH):
            QueueItem.objects.bulk_create(
                [
                    QueueItem(
                        queue=locked,
                        interaction_id=pk,
                        fill=None,
                        reasons=[MANUAL],
                        inclusion_probability=1.0,
                        source_probability=1.0,
                        stratum=MANUAL,
                        stratum_fraction=1.0,
                        annotations_wanted=locked.overlap,
                        created_at=now,
                        updated_at=now,
                    )
                    for pk in new[start : start + _BATCH]
                ]
            )
        outcome = ManualAddOutcome(
            added=len(new), already=len(present), refused=len(ids) - len(valid)
        )
        AuditEvent.objects.create(
            project_id=locked.project_id,
            actor=added_by,
            action="queue.items_added",
            target_type="queue",
            target_id=str(locked.pk),
            metadata={
                "reason": MANUAL,
                "added": outcome.added,
                "already": outcome.already,
                "refused": outcome.refused,
            },
        )
    return outcome
