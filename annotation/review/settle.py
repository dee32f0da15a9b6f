"""How a reviewed item settles: its final values, or why it has none yet.

One function, ``settle``, used by exports, agreement reports, the checks' guard report and
the interaction read-back, so every figure stands on the same final answers. No Django and
no database here.

Final values of an item
-----------------------
- An adjudicated item: the lead's values, field by field. A field the lead left empty
  takes the annotators' answer as below.
- The verdict (the schema's ``verdict`` field, else its first ``agreement`` choice, else
  its first choice) is the lead's, else the answer more annotators gave than any other.
- Every other field is the most common answer among the annotators who gave the final
  verdict (all of them when there is none), a tie going to the earliest answer (two
  annotators who agree an answer is bad rarely write the same correction).
  Answers are compared as ``label_schema.comparable`` does (lists as sets, text with
  its whitespace collapsed); relevance judgements are settled document by document.

A tie is unsettled. When no lead adjudicated the item and the annotators' answers to the
verdict, or to any field the schema marks ``agreement``, tie for the most common (one
``good`` and one ``bad``), the item has no final values: ``Outcome.settled`` is false and
``Outcome.unsettled`` names the fields. Exports leave such items out (``unsettled_tie``),
the guard report does not count them, and the read-back says ``settled: false``. Other
fields whose answers tied are listed in ``Outcome.tied`` (their value is the earliest).

So three annotators answering bad/"fix A", bad/"fix B" and good settle on bad with
the correction "fix A"; two answering good and bad do not settle until a lead decides.

Agreement of an item is the share of its annotator pairs that gave the same answers to
every ``agreement`` field of the schema (to the verdict when no field is marked); it
is ``None`` for an item with fewer than two annotations.

A response counts as approved when the final verdict is not negative (``bad``,
``incorrect``, ... see ``NEGATIVE_VERDICTS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from annotation.schemas.label_schema import FieldSpec, comparable, parse_schema

# A final verdict in this list says the response is bad (a check should have fired, an
# export must not train on it as is).
NEGATIVE_VERDICTS = frozenset(
    {"bad", "fail", "failed", "unsafe", "harmful", "reject", "rejected", "incorrect", "wrong", "no"}
)

EMPTY_ANSWERS: tuple[Any, ...] = (None, "", [], {})
_encode = msgspec.json.Encoder(order="sorted").encode


@dataclass(frozen=True, slots=True)
class SchemaRoles:
    """Which field of a queue's label schema plays which part."""

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

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


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
class Outcome:
    """An item's final values, whether a lead settled them, and its annotators' agreement.

    ``settled`` is false when the verdict or an agreement field tied with nobody to decide
    it (``unsettled`` names them); ``values`` then holds nothing to act on.
    """

    values: Mapping[str, Any]
    adjudicated: bool
    agreement: float | None
    settled: bool = True
    unsettled: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()

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


def _plurality(spec: FieldSpec, values: Sequence[Mapping[str, Any]]) -> tuple[Any, bool]:
    """The most common answer to ``spec`` (the earliest on a tie) as given, and whether it tied."""
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
        return None, False
    # max() keeps the first of equal counts, i.e. the answer given first.
    best = max(counts, key=counts.__getitem__)
    tied = sum(1 for n in counts.values() if n == counts[best]) > 1
    return given[best], tied


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
    deciding = {spec.name for spec in roles.agreement}
    unsettled: list[str] = []
    tied: list[str] = []
    supporters: Sequence[Mapping[str, Any]] = annotations
    verdict_spec = roles.verdict
    verdict: Any = None
    if verdict_spec is not None:
        deciding.add(verdict_spec.name)
        verdict = lead.get(verdict_spec.name)
        if verdict in EMPTY_ANSWERS:
            verdict, tie = _plurality(verdict_spec, annotations)
            if tie:
                (unsettled if adjudication is None else tied).append(verdict_spec.name)
        if verdict is not None:
            wanted = _key(verdict_spec, verdict)
            agreeing = [
                a for a in annotations if _key(verdict_spec, a.get(verdict_spec.name)) == wanted
            ]
            supporters = agreeing or annotations
    values: dict[str, Any] = {}
    for spec in roles.fields:
        if spec is verdict_spec:
            continue
        value = lead.get(spec.name)
        if value in EMPTY_ANSWERS:
            if spec.type == "relevance":
                value = _relevance_plurality(spec, supporters)
            else:
                value, tie = _plurality(spec, supporters)
                if tie:
                    decides = spec.name in deciding and adjudication is None
                    (unsettled if decides else tied).append(spec.name)
        if value is not None:
            values[spec.name] = value
    if verdict_spec is not None and verdict is not None:
        values[verdict_spec.name] = verdict
    if unsettled:
        return Outcome(
            values={},
            adjudicated=adjudication is not None,
            agreement=agreement,
            settled=False,
            unsettled=tuple(unsettled),
            tied=tuple(tied),
        )
    return Outcome(
        values=values,
        adjudicated=adjudication is not None,
        agreement=agreement,
        tied=tuple(tied),
    )


def pair_agreement(roles: SchemaRoles, annotations: Sequence[Mapping[str, Any]]) -> float | None:
    """Share of annotator pairs that agree on every agreement field; None below two."""
    n = len(annotations)
    if n < 2 or not roles.agreement:
        return None
    keys = [tuple(_key(spec, a.get(spec.name)) for spec in roles.agreement) for a in annotations]
    agreeing = sum(keys[i] == keys[j] for i in range(n) for j in range(i + 1, n))
    return agreeing / (n * (n - 1) // 2)
