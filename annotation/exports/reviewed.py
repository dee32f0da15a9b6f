"""From a reviewed item to the rows of each export kind.

No Django and no database here: the export service reads each queue item with its
interaction, annotations and adjudication into a ``ReviewedItem``, settles it with
``annotation.review.settle`` (the same final values the guard report, agreement and the
read-back use; a tie is unsettled and gives no row) and asks this module for its rows
(``RowMaker``).

A correction equal to the response, up to whitespace, is no correction: the workspace
prefills the editor with the response.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from annotation.exports.rows import (
    Kind,
    RowError,
    annotation_row,
    chat_messages,
    check_kind,
    eval_row,
    openai_dpo_row,
    preference_row,
    retrieval_rows,
    sft_row,
)
from annotation.review.settle import (
    EMPTY_ANSWERS,
    NEGATIVE_VERDICTS,
    Outcome,
    SchemaRoles,
    is_negative,
    pair_agreement,
    schema_roles,
    settle,
)

__all__ = [
    "NEGATIVE_VERDICTS",
    "AnnotationRecord",
    "Outcome",
    "PartialRelevance",
    "ReviewedItem",
    "RowMaker",
    "SchemaRoles",
    "final_answer",
    "is_negative",
    "pair_agreement",
    "prompt_turns",
    "schema_roles",
    "settle",
]

PartialRelevance = Literal["relevant", "irrelevant"]


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
    if verdict in EMPTY_ANSWERS:
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
        if self.kind == "openai_dpo":
            return [openai_dpo_row(r) for r in self._preference(item, roles, outcome, skipped)]
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


# Kinds whose rows are pairs of answers to one prompt (two formats of the same pairs).
PAIR_KINDS = ("preference", "openai_dpo")


def pair_turns(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every turn of a pair row (prompt, chosen, rejected), whichever format it is in."""
    if "input" in row:
        return [*row["input"]["messages"], *row["preferred_output"], *row["non_preferred_output"]]
    return [*row["prompt"], *row["chosen"], *row["rejected"]]


def prompt_turns(kind: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The prompt of an item's rows, as turns, for duplicate keys and splits.

    ``None`` for annotation rows, which carry no prompt of their own.
    """
    first = rows[0]
    if kind == "sft":
        return list(first["messages"][:-1])
    if kind in ("preference", "eval"):
        return list(first["prompt"])
    if kind == "openai_dpo":
        return list(first["input"]["messages"])
    if kind == "retrieval":
        return [{"role": "user", "content": first["query"]}]
    return None
