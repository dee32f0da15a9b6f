from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from annotation.models import Annotation, Queue, QueueItem
from annotation.models.review import ItemState
from annotation.schemas.label_schema import FieldSpec, comparable, disagreements


def items_to_adjudicate(queue: Queue) -> QuerySet[QueueItem]:
    return (
        QueueItem.objects.filter(queue=queue, state=ItemState.NEEDS_ADJUDICATION)
        .select_related("interaction")
        .order_by("-priority", "id")
    )


@dataclass
class Dispute:
    item: QueueItem
    annotations: list[Annotation]
    disputed: list[str]
    suggested: dict[str, Any]


def dispute(item: QueueItem, fields: list[FieldSpec]) -> Dispute:
    """The item's annotations, the fields they disagree on, and the majority answer per field."""
    annotations = list(
        Annotation.objects.filter(item=item)
        .select_related("annotator", "guideline")
        .order_by("created_at")
    )
    values = [a.values for a in annotations]
    suggested: dict[str, Any] = {}
    for spec in fields:
        answers = [v.get(spec.name) for v in values if v.get(spec.name) not in (None, "", [], {})]
        if not answers:
            continue
        counts = Counter(comparable(spec, answer) for answer in answers)
        top, _ = counts.most_common(1)[0]
        suggested[spec.name] = next(a for a in answers if comparable(spec, a) == top)
    return Dispute(
        item=item,
        annotations=annotations,
        disputed=disagreements(fields, values),
        suggested=suggested,
    )
