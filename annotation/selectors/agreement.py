from __future__ import annotations

from typing import Any

import msgspec
from django.contrib.auth import get_user_model
from django.db.models import TextField
from django.db.models.functions import Cast

from annotation.agreement_report import AnnotationRecord
from annotation.models import Annotation, ItemState, Queue, QueueItem
from annotation.models.review import Adjudication

_decode = msgspec.json.Decoder(dict[str, Any]).decode


class UnreadableAnnotation(ValueError):
    """An annotation whose stored values are not a JSON object."""


def agreement_records(queue: Queue) -> list[AnnotationRecord]:
    """Every annotation of the queue as a plain record, oldest first within each item.

    The values are read as JSON text (a cast the ORM writes for each database: ``::text``
    on PostgreSQL, the stored text on SQLite) and decoded with msgspec: on 300,000
    annotations that is several times faster than the ORM's JSONField, and the usernames
    come from one small query instead of a join per row.
    """
    # Annotators are members of the project (a handful of rows), so their names come first.
    names = dict(
        get_user_model()
        .objects.filter(memberships__project_id=queue.project_id)
        .values_list("pk", "username")
    )
    rows = (
        Annotation.objects.filter(item__queue=queue)
        .order_by("item_id", "pk")
        .values_list(
            "pk", "item_id", "annotator_id", Cast("values", TextField()), "guideline__version"
        )
    )
    records: list[AnnotationRecord] = []
    for pk, item_id, annotator_id, values, version in rows.iterator(chunk_size=10_000):
        try:
            decoded = _decode(values)
        except msgspec.ValidationError:
            raise UnreadableAnnotation(
                f"annotation {pk} (item {item_id}) holds values that are not a JSON object; "
                "correct or delete it in the admin and compute the report again"
            ) from None
        records.append(
            AnnotationRecord(
                item_id, names.get(annotator_id) or str(annotator_id), decoded, version
            )
        )
    return records


def adjudicated_values(queue: Queue) -> dict[int, dict[str, Any]]:
    return {
        item_id: values
        for item_id, values in Adjudication.objects.filter(item__queue=queue).values_list(
            "item_id", "values"
        )
        if isinstance(values, dict)
    }


def done_item_ids(queue: Queue) -> list[int]:
    return list(
        QueueItem.objects.filter(queue=queue, state=ItemState.DONE).values_list("pk", flat=True)
    )
