"""What pipeline triggers read: how many reviewed examples are new since a trigger's watermark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max

from annotation.models import Trigger
from annotation.schemas.export_request import ExportFilters, parse_export_request
from annotation.selectors.exports import ReviewedItems, project_queue_ids


@dataclass(frozen=True)
class NewExamples:
    count: int
    newest: datetime | None  # the finished_at of the newest of them: the next watermark


def trigger_filters(trigger: Trigger) -> ExportFilters:
    spec = parse_export_request(
        trigger.export_request, queue_ids=project_queue_ids(trigger.project_id)
    )
    return spec.filters


def trigger_new_examples(trigger: Trigger) -> NewExamples:
    """Reviewed items matching the trigger's export filters that finished after its watermark.

    The filters SQL can apply are counted (queues, time, model, template, guideline); the
    ones an export checks as it reads (verdicts, agreement) make the count an upper bound.
    """
    items = ReviewedItems(trigger.project_id, trigger_filters(trigger)).queryset()
    if trigger.watermark is not None:
        items = items.filter(finished_at__gt=trigger.watermark)
    else:
        items = items.filter(finished_at__isnull=False)
    found = items.aggregate(count=Count("pk"), newest=Max("finished_at"))
    return NewExamples(count=int(found["count"] or 0), newest=found["newest"])
