from __future__ import annotations

from typing import Any

from annotation.agreement_report import AnnotationRecord
from annotation.models import Annotation, Queue
from annotation.models.review import Adjudication


def agreement_records(queue: Queue) -> list[AnnotationRecord]:
    """Every annotation of the queue as a plain record, read in one streamed query."""
    rows = (
        Annotation.objects.filter(item__queue=queue)
        .order_by("item_id", "annotator_id")
        .values_list("item_id", "annotator__username", "values", "guideline__version")
    )
    return [
        AnnotationRecord(item_id, annotator, values if isinstance(values, dict) else {}, version)
        for item_id, annotator, values, version in rows.iterator(chunk_size=10_000)
    ]


def adjudicated_values(queue: Queue) -> dict[int, dict[str, Any]]:
    return {
        item_id: values
        for item_id, values in Adjudication.objects.filter(item__queue=queue).values_list(
            "item_id", "values"
        )
        if isinstance(values, dict)
    }
