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


@dataclass(frozen=True)
class Answer:
    """One distinct answer to a field and who gave it."""

    value: Any
    annotators: list[str]


@dataclass(frozen=True)
class SaidField:
    """Who said what on one field: each distinct answer (equal up to order and whitespace)
    with its annotators, the most common first; `silent` lists those who left it empty."""

    name: str
    disputed: bool
    answers: list[Answer]
    silent: list[str]


def who_said_what(found: Dispute, fields: list[FieldSpec]) -> list[SaidField]:
    """The dispute's annotations grouped per field by answer, for the adjudication summary."""
    summary = []
    for spec in fields:
        groups: dict[Any, Answer] = {}
        silent = []
        for annotation in found.annotations:
            value = (
                annotation.values.get(spec.name) if isinstance(annotation.values, dict) else None
            )
            name = annotation.annotator.username
            key = comparable(spec, value)
            if key is None:
                silent.append(name)
                continue
            if key not in groups:
                groups[key] = Answer(value=value, annotators=[])
            groups[key].annotators.append(name)
        answers = sorted(groups.values(), key=lambda answer: -len(answer.annotators))
        summary.append(
            SaidField(
                name=spec.name,
                disputed=spec.name in found.disputed,
                answers=answers,
                silent=silent,
            )
        )
    return summary


def accepted_values(annotation: Annotation, fields: list[FieldSpec]) -> dict[str, Any]:
    """An annotator's answers as final values: the schema's fields they filled in."""
    values = annotation.values if isinstance(annotation.values, dict) else {}
    return {
        spec.name: values[spec.name]
        for spec in fields
        if comparable(spec, values.get(spec.name)) is not None
    }
