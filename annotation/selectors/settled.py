"""An item's settled values as every figure reads them (``annotation.review.settle``)."""

from __future__ import annotations

from annotation.models.review import Adjudication, ItemState, QueueItem
from annotation.review.settle import Outcome, schema_roles, settle


def queue_item_outcome(item: QueueItem) -> Outcome | None:
    """The settled outcome of a done item (read from prefetched annotations); None before."""
    if item.state != ItemState.DONE:
        return None
    try:
        adjudication: Adjudication | None = item.adjudication
    except Adjudication.DoesNotExist:
        adjudication = None
    values = [a.values for a in item.annotations.all() if isinstance(a.values, dict)]
    lead = adjudication.values if adjudication is not None else None
    return settle(
        schema_roles(item.queue.schema or {}), values, lead if isinstance(lead, dict) else None
    )
