"""What the annotator's pages read: their queues with progress, the item in front of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from annotation.models import (
    EVALUATOR_TYPES,
    Annotation,
    Feedback,
    Flag,
    Lease,
    LeaseState,
    Queue,
    QueueItem,
    QueueState,
    Severity,
)
from annotation.models.review import REVISABLE_STATES, ItemState


def annotator_queues(user: User) -> QuerySet[Queue]:
    """Active or paused queues the user is assigned to, with progress counts, in one query."""
    return (
        Queue.objects.filter(annotators=user, project__memberships__user=user)
        .exclude(state=QueueState.ARCHIVED)
        .select_related("project")
        .annotate(
            total_items=Count("items", distinct=True),
            done_items=Count("items", filter=Q(items__state=ItemState.DONE), distinct=True),
        )
        .order_by("project__name", "name")
    )


def held_lease(queue: Queue, annotator: User) -> Lease | None:
    """The annotator's unexpired lease in the queue, with its item and guideline; reads only.

    Opening the workspace shows this lease and takes none: leasing is a POST (`lease_next`).
    """
    return (
        Lease.objects.select_related("item__interaction", "guideline")
        .filter(
            queue=queue,
            annotator=annotator,
            state=LeaseState.ACTIVE,
            expires_at__gt=timezone.now(),
        )
        .order_by("expires_at")
        .first()
    )


def annotations_today(user: User, queue_ids: list[int]) -> dict[int, int]:
    start_of_day = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Annotation.objects.filter(
            annotator=user, item__queue_id__in=queue_ids, created_at__gte=start_of_day
        )
        .values("item__queue_id")
        .annotate(n=Count("id"))
    )
    return {row["item__queue_id"]: row["n"] for row in rows}


@dataclass
class ItemView:
    """An item as the workspace shows it; every text in it is untrusted and rendered inert."""

    item: QueueItem
    messages: list[dict[str, Any]]
    response: str
    documents: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    response_spans: list[dict[str, Any]]
    feedback: list[Feedback]


def item_view(item: QueueItem) -> ItemView:
    interaction = item.interaction
    # Evaluators' passing verdicts too: their score is why an `uncertain` source picked the item.
    flags = list(
        Flag.objects.filter(
            Q(flagged=True) | Q(check_config__type__in=EVALUATOR_TYPES), interaction=interaction
        )
        .select_related("check_config")
        .order_by("-flagged", "-severity", "id")
    )
    spans = [
        span
        for flag in flags
        if flag.flagged
        for span in flag.spans
        if isinstance(span, dict) and "in" not in span
    ]
    return ItemView(
        item=item,
        messages=[m for m in interaction.messages if isinstance(m, dict)],
        response=interaction.response,
        documents=[d for d in interaction.retrieved_context or [] if isinstance(d, dict)],
        flags=[
            {
                "check": flag.check_config.name,
                "severity": Severity(flag.severity).label,
                "label": flag.label,
                "rationale": flag.rationale,
                "flagged": flag.flagged,
                # The evaluator's own score, as stored and as the API shows it.
                "score": flag.score if flag.check_config.type in EVALUATOR_TYPES else None,
            }
            for flag in flags
        ],
        response_spans=spans,
        feedback=list(
            Feedback.objects.filter(interaction=interaction).order_by("timestamp", "id")[:50]
        ),
    )


def recent_annotations(user: User, queue: Queue, *, limit: int = 20) -> QuerySet[Annotation]:
    return (
        Annotation.objects.filter(annotator=user, item__queue=queue)
        .select_related("item__interaction")
        .order_by("-updated_at")[:limit]
    )


def revisable(annotation: Annotation) -> bool:
    return annotation.item.state in REVISABLE_STATES
