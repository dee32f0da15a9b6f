"""Reading what per-annotator quality needs: a queue's answers to its main field and the
lead's adjudications of it. Bounded: the most recent `MAX_ANNOTATIONS` annotations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max

from annotation.models import Adjudication, Annotation, Queue
from annotation.review.annotator_quality import AnnotatorQuality, annotator_quality
from annotation.review.settle import schema_roles
from annotation.schemas.label_schema import FieldSpec, comparable

MAX_ANNOTATIONS = 50_000
CACHE_SECONDS = 600


@dataclass(frozen=True)
class QueueQuality:
    field: str | None
    annotators: list[AnnotatorQuality]
    # Whether only the most recent MAX_ANNOTATIONS annotations were read.
    truncated: bool = False
    overlap_above_two: bool = False


def _main_field(queue: Queue) -> FieldSpec | None:
    if not isinstance(queue.schema, dict) or not isinstance(queue.schema.get("fields"), list):
        return None
    try:
        roles = schema_roles(queue.schema)
    except (KeyError, TypeError, ValueError):
        return None
    if roles.verdict is not None:
        return roles.verdict
    return next(iter(roles.agreement), None)


def _key(spec: FieldSpec, value: Any) -> Hashable | None:
    found = comparable(spec, value)
    if found is None:
        return None
    try:
        hash(found)
    except TypeError:
        return repr(found)
    return found


def queue_quality(queue: Queue) -> QueueQuality:
    """Each annotator's agreement with the others and with adjudications on the main field.

    The progress page polls every 10 s: the answer is cached under a signature of the queue's
    annotations and adjudications (two indexed aggregates), so it is computed again only when
    one of them changed.
    """
    spec = _main_field(queue)
    if spec is None:
        return QueueQuality(field=None, annotators=[])
    annotations = Annotation.objects.filter(item__queue=queue).aggregate(
        n=Count("id"), last=Max("updated_at")
    )
    adjudications = Adjudication.objects.filter(item__queue=queue).aggregate(
        n=Count("id"), last=Max("id")
    )
    key = "queue-quality:{}:{}:{}:{}:{}:{}".format(
        queue.pk,
        spec.name,
        annotations["n"],
        annotations["last"].isoformat() if annotations["last"] else "",
        adjudications["n"],
        adjudications["last"] or "",
    )
    found: QueueQuality | None = cache.get(key)
    if found is None:
        found = _queue_quality(queue, spec)
        cache.set(key, found, CACHE_SECONDS)
    return found


def _queue_quality(queue: Queue, spec: FieldSpec) -> QueueQuality:
    rows = list(
        Annotation.objects.filter(item__queue=queue)
        .order_by("-id")
        .values_list("item_id", "annotator__username", "values")[: MAX_ANNOTATIONS + 1]
    )
    truncated = len(rows) > MAX_ANNOTATIONS
    answers: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    for item_id, username, values in rows[:MAX_ANNOTATIONS]:
        value = _key(spec, values.get(spec.name)) if isinstance(values, dict) else None
        if value is not None:
            answers[item_id][username] = value
    adjudicated: dict[Hashable, Hashable] = {}
    for item_id, values in Adjudication.objects.filter(item__queue=queue).values_list(
        "item_id", "values"
    ):
        if item_id not in answers:
            continue
        value = _key(spec, values.get(spec.name)) if isinstance(values, dict) else None
        if value is not None:
            adjudicated[item_id] = value
    return QueueQuality(
        field=spec.name,
        annotators=annotator_quality(answers, adjudicated),
        truncated=truncated,
        overlap_above_two=any(len(by) > 2 for by in answers.values()),
    )
