"""From a reviewed item to the rows of each export kind.

No Django and no database here: the export service reads each queue item with its
interaction, annotations and adjudication into a ``ReviewedItem`` and asks this module
for its final values (``settle``) and its rows (``RowMaker``).

Final values of an item
-----------------------
- An adjudicated item: the lead's values, field by field. A field the lead left empty
  takes the annotators' answer as below.
- The verdict (the schema's ``verdict`` field, else its first ``agreement`` choice, else
  its first choice) is the lead's, else the most common answer among the annotators;
  a tie goes to the answer given first.
- Every other field is the most common answer among the annotators who gave the final
  verdict (all of them when there is none), a tie again going to the earliest answer.
  Answers are compared as ``label_schema.comparable`` does (lists as sets, text with
  its whitespace collapsed); relevance judgements are settled document by document.

So three annotators answering bad/"fix A", bad/"fix B" and good settle on bad with
the correction "fix A".

Agreement of an item is the share of its annotator pairs that gave the same answers to
every ``agreement`` field of the schema (to the verdict when no field is marked); it
is ``None`` for an item with fewer than two annotations.

A response counts as approved when the final verdict is not negative (``bad``,
``incorrect``, ... see ``NEGATIVE_VERDICTS``). A correction equal to the response, up to
whitespace, is no correction: the workspace prefills the editor with the response.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec

from annotation.exports.rows import (
    Kind,
    RowError,
    annotation_row,
    chat_messages,
    check_kind,
    eval_row,
    preference_row,
    retrieval_rows,
    sft_row,
)
from annotation.schemas.label_schema import FieldSpec, comparable, parse_schema

# The same words as the checks' report against reviewers (annotation.selectors.checks);
# a test keeps the two lists equal.
NEGATIVE_VERDICTS = frozenset(
    {"bad", "fail", "failed", "unsafe", "harmful", "reject", "rejected", "incorrect", "wrong", "no"}
)

PartialRelevance = Literal["relevant", "irrelevant"]

_EMPTY: tuple[Any, ...] = (None, "", [], {})
_encode = msgspec.json.Encoder(order="sorted").encode


@dataclass(frozen=True, slots=True)
class SchemaRoles:
    """Which field of a queue's label schema plays which part in an export."""

    fields: tuple[FieldSpec, ...]
    verdict: FieldSpec | None
    reasons: FieldSpec | None
    correction: FieldSpec | None
    pairwise: FieldSpec | None
    relevance: FieldSpec | None
    # Fields annotators must agree on; the verdict when the schema marks none.
    agreement: tuple[FieldSpec, ...]
    # What an eval row carries as labels: everything but free text and the reasons.
    labels: tuple[FieldSpec, ...]


def schema_roles(schema: Mapping[str, Any]) -> SchemaRoles:
    """The roles of a (valid) label schema's fields."""
    fields = tuple(parse_schema(dict(schema))) if schema.get("fields") else ()

    def first(*candidates: FieldSpec | None) -> FieldSpec | None:
        return next((c for c in candidates if c is not None), None)

    def of_type(kind: str, **match: Any) -> FieldSpec | None:
        return next(
            (
                f
                for f in fields
                if f.type == kind and all(getattr(f, k) == v for k, v in match.items())
            ),
            None,
        )

    verdict = first(
        of_type("choice", name="verdict"), of_type("choice", agreement=True), of_type("choice")
    )
    reasons = first(
        of_type("multi_choice", name="reasons"),
        of_type("multi_choice", whole_taxonomy=True),
        of_type("multi_choice"),
    )
    agreement = tuple(f for f in fields if f.agreement) or ((verdict,) if verdict else ())
    labels = tuple(f for f in fields if f.type not in ("correction", "text") and f is not reasons)
    return SchemaRoles(
        fields=fields,
        verdict=verdict,
        reasons=reasons,
        correction=of_type("correction"),
        pairwise=of_type("pairwise"),
        relevance=of_type("relevance"),
        agreement=agreement,
        labels=labels,
    )


@dataclass(slots=True)
class AnnotationRecord:
    """One annotation of an item, as the export reads it."""

    id: int
    values: dict[str, Any]
    guideline_version: int | None = None
    annotator: str = ""
    revision: int = 1
    seconds: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class ReviewedItem:
    """A queue item with what an export needs of its interaction and review."""

    item_id: int
    queue_id: int
    request_id: str
    messages: Any
    response: str
    annotations: list[AnnotationRecord]
    adjudication: dict[str, Any] | None = None
    retrieved_context: list[Any] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    item_reasons: list[str] = field(default_factory=list)
    inclusion_probability: float | None = None
    queue_name: str = ""


@dataclass(slots=True)
class Outcome:
    """An item's final values, whether a lead settled them, and its annotators' agreement."""

    values: Mapping[str, Any]
    adjudicated: bool
    agreement: float | None

    def verdict(self, roles: SchemaRoles) -> Any:
        return self.values.get(roles.verdict.name) if roles.verdict else None

    def reasons(self, roles: SchemaRoles) -> list[str]:
        value = self.values.get(roles.reasons.name) if roles.reasons else None
        return [str(r) for r in value] if isinstance(value, list) else []


def is_negative(verdict: Any) -> bool:
    return isinstance(verdict, str) and verdict.strip().lower() in NEGATIVE_VERDICTS


def _key(spec: FieldSpec, value: Any) -> Any:
    """A hashable form of an answer, equal for equal answers; None when there is none."""
    try:
        key = comparable(spec, value)
        hash(key)
    except TypeError:
        # A value of another shape than the schema says (the schema changed since).
        return _encode(value)
    return key


def _plurality(spec: FieldSpec, values: Sequence[Mapping[str, Any]]) -> Any:
    """The most common answer to ``spec`` (the earliest on a tie), as it was given."""
    counts: dict[Any, int] = {}
    given: dict[Any, Any] = {}
    for answer in values:
        value = answer.get(spec.name)
        key = _key(spec, value)
        if key is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        given.setdefault(key, value)
    if not counts:
        return None
    # max() keeps the first of equal counts, i.e. the answer given first.
    return given[max(counts, key=counts.__getitem__)]


def _relevance_plurality(spec: FieldSpec, values: Sequence[Mapping[str, Any]]) -> Any:
    votes: dict[str, dict[Any, int]] = {}
    for answer in values:
        judged = answer.get(spec.name)
        if not isinstance(judged, Mapping):
            continue
        for doc, rating in judged.items():
            if isinstance(rating, str | int | float | bool):
                per_doc = votes.setdefault(str(doc), {})
                per_doc[rating] = per_doc.get(rating, 0) + 1
    if not votes:
        return None
    return {doc: max(counts, key=counts.__getitem__) for doc, counts in votes.items()}


def settle(
    roles: SchemaRoles,
    annotations: Sequence[Mapping[str, Any]],
    adjudication: Mapping[str, Any] | None = None,
) -> Outcome:
    """Final values and agreement of an item from its annotations' values (oldest first)."""
    if adjudication is None and len(annotations) == 1:
        return Outcome(values=annotations[0], adjudicated=False, agreement=None)
    agreement = pair_agreement(roles, annotations)
    lead = adjudication or {}
    supporters: Sequence[Mapping[str, Any]] = annotations
    verdict_spec = roles.verdict
    if verdict_spec is not None:
        verdict = lead.get(verdict_spec.name)
        if verdict in _EMPTY:
            verdict = _plurality(verdict_spec, annotations)
        if verdict is not None:
            wanted = _key(verdict_spec, verdict)
            agreeing = [
                a for a in annotations if _key(verdict_spec, a.get(verdict_spec.name)) == wanted
            ]
            supporters = agreeing or annotations
    values: dict[str, Any] = {}
    for spec in roles.fields:
        value = lead.get(spec.name)
        if value in _EMPTY:
            if spec.type == "relevance":
                value = _relevance_plurality(spec, supporters)
            else:
                value = _plurality(spec, supporters)
        if value is not None:
            values[spec.name] = value
    if verdict_spec is not None and verdict is not None:
        values[verdict_spec.name] = verdict
    return Outcome(values=values, adjudicated=adjudication is not None, agreement=agreement)


def pair_agreement(roles: SchemaRoles, annotations: Sequence[Mapping[str, Any]]) -> float | None:
    """Share of annotator pairs that agree on every agreement field; None below two."""
    n = len(annotations)
    if n < 2 or not roles.agreement:
        return None
    keys = [tuple(_key(spec, a.get(spec.name)) for spec in roles.agreement) for a in annotations]
    agreeing = sum(keys[i] == keys[j] for i in range(n) for j in range(i + 1, n))
    return agreeing / (n * (n - 1) // 2)


def _correction(roles: SchemaRoles, values: Mapping[str, Any], response: str) -> str | None:
    if roles.correction is None:
        return None
    text = values.get(roles.correction.name)
    if not isinstance(text, str) or not text.strip():
        return None
    return None if _same_words(text, response or "") else text


# Texts equal up to whitespace have the same count of every other character: comparing a
# few counts (C speed) settles most real corrections without splitting both texts (10 µs).
_PROBES = "etaoin"


def _same_words(a: str, b: str) -> bool:
    if a == b:
        return True
    for probe in _PROBES:
        if a.count(probe) != b.count(probe):
            return False
    return a.split() == b.split()


def final_answer(roles: SchemaRoles, outcome: Outcome, response: str) -> str:
    """The assistant turn to train on: the correction, else the response if approved.

    Raises ``RowError`` (``rejected_without_correction``, ``no_verdict``) otherwise.
    """
    correction = _correction(roles, outcome.values, response)
    if correction is not None:
        return correction
    verdict = outcome.verdict(roles)
    if verdict in _EMPTY:
        raise RowError(
            "no_verdict", "reviewers neither corrected the response nor gave a verdict on it"
        )
    if is_negative(verdict):
        raise RowError(
            "rejected_without_correction",
            f"reviewers judged the response {verdict!r} and wrote no correction",
        )
    return response


def _last_user_turn(messages: Any) -> str:
    for message in reversed(chat_messages(messages)):
        if message["role"] == "user":
            return message["content"]
    raise RowError("no_user_turn", "the conversation has no user turn to use as the query")


class RowMaker:
    """Builds the rows of one export kind from reviewed items."""

    def __init__(
        self,
        kind: str,
        *,
        system_prompt: str | None = None,
        partial_relevance: PartialRelevance = "relevant",
    ) -> None:
        self.kind: Kind = check_kind(kind)
        self.system_prompt = system_prompt or None
        self.partial_relevance = partial_relevance

    def rows(
        self,
        item: ReviewedItem,
        roles: SchemaRoles,
        outcome: Outcome,
        skipped: Counter[str],
    ) -> list[dict[str, Any]]:
        """The item's rows; raises ``RowError`` when it has none.

        ``skipped`` counts candidates left out of an item that still has rows (a tied
        A/B comparison beside a correction, in a preference export).
        """
        if self.kind == "sft":
            answer = final_answer(roles, outcome, item.response)
            return [sft_row(item.messages, answer, self.system_prompt)]
        if self.kind == "preference":
            return self._preference(item, roles, outcome, skipped)
        if self.kind == "eval":
            return [self._eval(item, roles, outcome)]
        if self.kind == "retrieval":
            return self._retrieval(item, roles, outcome)
        return [self._annotation(item, a) for a in item.annotations]

    def _preference(
        self, item: ReviewedItem, roles: SchemaRoles, outcome: Outcome, skipped: Counter[str]
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        reasons: list[RowError] = []
        correction = _correction(roles, outcome.values, item.response)
        if correction is not None:
            try:
                rows.append(
                    preference_row(item.messages, correction, item.response, self.system_prompt)
                )
            except RowError as exc:
                reasons.append(exc)
        if roles.pairwise is not None:
            choice = outcome.values.get(roles.pairwise.name)
            response_b = item.metadata.get("response_b") if item.metadata else None
            if choice == "tie":
                reasons.append(RowError("tie", "the A/B comparison is a tie"))
            elif choice in ("A", "B"):
                if not isinstance(response_b, str) or not response_b.strip():
                    reasons.append(
                        RowError("no_response_b", "the interaction has no metadata.response_b")
                    )
                else:
                    chosen, rejected = (
                        (item.response, response_b)
                        if choice == "A"
                        else (response_b, item.response)
                    )
                    try:
                        rows.append(
                            preference_row(item.messages, chosen, rejected, self.system_prompt)
                        )
                    except RowError as exc:
                        reasons.append(exc)
        if rows:
            skipped.update(reason.reason for reason in reasons)
            return rows
        if reasons:
            skipped.update(reason.reason for reason in reasons[1:])
            raise reasons[0]
        raise RowError("no_pair", "reviewers neither corrected the response nor compared A and B")

    def _eval(self, item: ReviewedItem, roles: SchemaRoles, outcome: Outcome) -> dict[str, Any]:
        try:
            reference: str | None = final_answer(roles, outcome, item.response)
        except RowError:
            reference = None
        values = outcome.values
        labels = {spec.name: values[spec.name] for spec in roles.labels if spec.name in values}
        return eval_row(
            item.messages,
            reference,
            id=item.request_id,
            response=item.response,
            labels=labels,
            reasons=outcome.reasons(roles),
            system_prompt=self.system_prompt,
        )

    def _retrieval(
        self, item: ReviewedItem, roles: SchemaRoles, outcome: Outcome
    ) -> list[dict[str, Any]]:
        spec = roles.relevance
        if spec is None:
            raise RowError("no_judgements", "the queue's schema has no relevance field")
        judged = outcome.values.get(spec.name)
        if not isinstance(judged, Mapping) or not judged:
            raise RowError("no_judgements", "reviewers judged no retrieved document")
        options = spec.options
        # The last option means "not relevant"; the first, fully relevant.
        relevant_below = len(options) - 1 if self.partial_relevance == "relevant" else 1
        relevance = {
            str(doc): options.index(rating) < relevant_below
            for doc, rating in judged.items()
            if rating in options
        }
        query = _last_user_turn(item.messages)
        return list(
            retrieval_rows(query, item.retrieved_context or [], relevance, query_id=item.request_id)
        )

    def _annotation(self, item: ReviewedItem, record: AnnotationRecord) -> dict[str, Any]:
        if record.created_at is None or record.updated_at is None:
            raise ValueError("annotation exports need each annotation's timestamps")
        return annotation_row(
            annotation_id=record.id,
            request_id=item.request_id,
            queue_id=item.queue_id,
            queue=item.queue_name,
            item_id=item.item_id,
            annotator=record.annotator,
            values=record.values,
            created_at=record.created_at,
            updated_at=record.updated_at,
            item_reasons=item.item_reasons,
            inclusion_probability=item.inclusion_probability,
            guideline_version=record.guideline_version,
            revision=record.revision,
            seconds=record.seconds,
            adjudication=item.adjudication,
            metadata=item.metadata,
        )


def prompt_turns(kind: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The prompt of an item's rows, as turns, for duplicate keys and splits.

    ``None`` for annotation rows, which carry no prompt of their own.
    """
    first = rows[0]
    if kind == "sft":
        return list(first["messages"][:-1])
    if kind in ("preference", "eval"):
        return list(first["prompt"])
    if kind == "retrieval":
        return [{"role": "user", "content": first["query"]}]
    return None
