from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Prefetch, Q, QuerySet

from annotation.models import Annotation, Feedback, Flag, Interaction, Project, QueueItem

# Feedback is unbounded (30,000 comments on one interaction made a 37 MB answer), so the read-back
# pages it. Flags (one per check), queue items (one per queue) and annotations (the overlap per
# item) are bounded by the project's configuration and come whole.
FEEDBACK_PAGE_SIZE = 100


def interactions_with_feedback(*, annotator: User | None = None) -> QuerySet[Interaction]:
    """Interactions with flags, queue items and annotations; feedback is read a page at a time.

    For an `annotator`, only the queue items of queues they are assigned to and only their own
    annotations: reviews stay independent.
    """
    items = QueueItem.objects.select_related("queue", "adjudication__lead")
    annotations = Annotation.objects.select_related("annotator", "guideline")
    if annotator is not None:
        items = items.filter(queue__annotators=annotator)
        annotations = annotations.filter(annotator=annotator)
    return Interaction.objects.select_related("project").prefetch_related(
        Prefetch(
            "flags",
            queryset=Flag.objects.select_related("check_config").order_by("-severity", "id"),
        ),
        Prefetch(
            "queue_items",
            queryset=items.prefetch_related(
                Prefetch("annotations", queryset=annotations.order_by("created_at"))
            ),
        ),
    )


def interaction_find(
    *,
    projects: QuerySet[Project],
    request_id: str,
    annotator: User | None = None,
) -> list[Interaction]:
    """The interactions with `request_id` in any of `projects` (at most two).

    With `annotator`, only those in a queue the annotator is assigned to.
    """
    found = interactions_with_feedback(annotator=annotator).filter(
        project__in=projects, request_id=request_id
    )
    if annotator is not None:
        found = found.filter(queue_items__queue__annotators=annotator).distinct()
    return list(found.order_by("-timestamp", "-id")[:2])


def interaction_exists(*, projects: QuerySet[Project], request_id: str) -> bool:
    return Interaction.objects.filter(project__in=projects, request_id=request_id).exists()


@dataclass(frozen=True, slots=True)
class FeedbackPage:
    rows: list[Feedback]
    count: int
    # (timestamp, id) of the last row when more follow: the keyset the next page starts after.
    next_after: tuple[datetime, int] | None


def interaction_feedback_page(
    *,
    interaction: Interaction,
    after: tuple[datetime, int] | None = None,
    limit: int = FEEDBACK_PAGE_SIZE,
) -> FeedbackPage:
    """One page of the interaction's feedback, newest first, and how much there is in all."""
    feedback = Feedback.objects.filter(interaction=interaction)
    page = feedback.order_by("-timestamp", "-id")
    if after is not None:
        timestamp, pk = after
        page = page.filter(Q(timestamp__lt=timestamp) | Q(timestamp=timestamp, id__lt=pk))
    rows = list(page[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return FeedbackPage(
        rows=rows,
        count=feedback.count(),
        next_after=(rows[-1].timestamp, rows[-1].pk) if more else None,
    )
