"""A queue's items for its lead: state, reasons, inclusion probability and every annotation,
newest first, filtered by state. Paginated by the caller; each page is three queries (count,
items with their interactions, their annotations with annotators)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from annotation.models import Annotation, Queue, QueueItem
from annotation.models.review import ItemState


def queue_items(queue: Queue, *, state: str | None = None) -> QuerySet[QueueItem]:
    """The queue's items (in `state` when given), newest first, with their annotations."""
    items = QueueItem.objects.filter(queue=queue)
    if state:
        items = items.filter(state=state)
    annotations = Annotation.objects.select_related("annotator").order_by("created_at", "id")
    return (
        items.select_related("interaction", "adjudication__lead")
        .prefetch_related(Prefetch("annotations", queryset=annotations))
        .order_by("-id")
    )


def item_states() -> list[tuple[str, str]]:
    return [(state.value, state.value.replace("_", " ")) for state in ItemState]
