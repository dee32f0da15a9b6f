"""What a check should have caught, and how well it did: the guard report's arithmetic.

Pure Python; the selector (``annotation.selectors.checks``) reads one queue's settled items,
their inclusion probabilities and the check's flags, and hands them to ``GuardTally``.

Truth
-----
A lead maps a check to what reviewers record when it should have fired (``Check.catches``)::

    {"reasons": ["unsafe"], "labels": {"contains_pii": ["yes"]}}

An item should have been caught when its settled reasons include one of ``reasons`` or the
settled value of a named field is one of the listed values (for a multi-choice field: any
of them was chosen). Without a mapping the truth is the verdict: a negative final verdict
(``bad``, ``unsafe``, ...) means the check should have fired, which measures a narrow
check (PII) against every way a response can be bad; the report then says
``"truth": "verdict"``.

Figures
-------
Counts of the four cells over settled items, precision and recall with Wilson score 95%
intervals, F1; and a population estimate weighting each item by 1 / its inclusion
probability (a ratio of Horvitz-Thompson totals), with a 95% interval from the linearised
variance under Poisson sampling, sum((1 - p) / p^2 * (y - R x)^2) / X^2: items taken with
certainty (p = 1) add no variance, sparsely sampled ones most.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from annotation.review.settle import Outcome, SchemaRoles, is_negative

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
MAX_ENTRIES = 100
MAX_TEXT = 200
Scalar = str | int | float | bool


class CatchesInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Catches:
    """A check's mapping to reviewers' answers; empty means "a negative verdict"."""

    reasons: tuple[str, ...] = ()
    labels: Mapping[str, tuple[Scalar, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.reasons and not self.labels

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.reasons:
            data["reasons"] = list(self.reasons)
        if self.labels:
            data["labels"] = {name: list(values) for name, values in self.labels.items()}
        return data

    def describe(self) -> str:
        """``"verdict"``, or the mapping in words: ``"reasons: unsafe or pii: yes"``."""
        if self.empty:
            return "verdict"
        parts = []
        if self.reasons:
            parts.append("reasons: " + ", ".join(self.reasons))
        for name, values in self.labels.items():
            parts.append(f"{name}: " + ", ".join(_word(v) for v in values))
        return " or ".join(parts)


def _word(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar_ok(value: Any) -> bool:
    if isinstance(value, bool | int):
        return abs(value) < 2**53
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and 0 < len(value) <= MAX_TEXT and "\x00" not in value


def parse_catches(data: Any) -> Catches:
    """A valid mapping, or ``CatchesInvalid`` naming the place (``catches.labels.pii``)."""
    if data is None or data == {}:
        return Catches()
    if not isinstance(data, Mapping):
        raise CatchesInvalid(
            "catches", 'give an object like {"reasons": ["unsafe"], "labels": {"pii": "yes"}}'
        )
    unknown = [str(k) for k in data if k not in ("reasons", "labels")]
    if unknown:
        raise CatchesInvalid(
            f"catches.{unknown[0].replace(chr(0), '')}", "unknown key; use reasons and labels"
        )
    reasons: tuple[str, ...] = ()
    if "reasons" in data:
        raw = data["reasons"]
        if isinstance(raw, str):
            raw = [raw]
        if (
            not isinstance(raw, list)
            or len(raw) > MAX_ENTRIES
            or not all(isinstance(r, str) and _scalar_ok(r) for r in raw)
        ):
            raise CatchesInvalid(
                "catches.reasons",
                f'give a list of up to {MAX_ENTRIES} reason names, e.g. ["unsafe"]',
            )
        reasons = tuple(dict.fromkeys(raw))
    labels: dict[str, tuple[Scalar, ...]] = {}
    if "labels" in data:
        raw_labels = data["labels"]
        if not isinstance(raw_labels, Mapping) or len(raw_labels) > MAX_ENTRIES:
            raise CatchesInvalid(
                "catches.labels", 'give an object of field names and values, e.g. {"pii": "yes"}'
            )
        for name, wanted in raw_labels.items():
            place = f"catches.labels.{str(name).replace(chr(0), '')}"
            if not isinstance(name, str) or not _scalar_ok(name):
                raise CatchesInvalid(place, "give a field name of the queues' label schema")
            values = wanted if isinstance(wanted, list) else [wanted]
            if not values or len(values) > MAX_ENTRIES or not all(map(_scalar_ok, values)):
                raise CatchesInvalid(
                    place, "give a value (text, number, true or false) or a non-empty list of them"
                )
            labels[name] = tuple(dict.fromkeys(values))
    return Catches(reasons=reasons, labels=labels)


def truth_problem(catches: Catches, roles: SchemaRoles) -> str | None:
    """Why a queue's schema cannot tell what the check should have caught, or None."""
    if catches.empty:
        if roles.verdict is None:
            return (
                "The queue's label schema has no verdict (a choice field); map the check to a "
                'reason or a field with PATCH /api/v1/checks/{id} {"catches": {...}}.'
            )
        return None
    if catches.reasons and roles.reasons is not None:
        return None
    if any(roles.field(name) is not None for name in catches.labels):
        return None
    wanted = [*(["reasons"] if catches.reasons else []), *catches.labels]
    return (
        f"The queue's label schema has none of the fields the check is mapped to "
        f"({', '.join(wanted)})."
    )


def should_catch(catches: Catches, roles: SchemaRoles, outcome: Outcome) -> bool | None:
    """Whether the check should have fired on a settled item; None when that is unsettled.

    An item whose answers to a field the truth reads tied (nobody decided them) is
    unsettled for this purpose too.
    """
    if not outcome.settled:
        return None
    if catches.empty:
        return is_negative(outcome.verdict(roles))
    read: list[str] = []
    hit = False
    if catches.reasons and roles.reasons is not None:
        read.append(roles.reasons.name)
        hit = bool(set(outcome.reasons(roles)).intersection(catches.reasons))
    for name, wanted in catches.labels.items():
        if roles.field(name) is None:
            continue
        read.append(name)
        value = outcome.values.get(name)
        chosen = value if isinstance(value, list) else [value]
        if any(
            _same(choice, target) for choice in chosen if choice is not None for target in wanted
        ):
            hit = True
    if any(name in outcome.tied for name in read):
        return None
    return hit


def _same(a: Any, b: Scalar) -> bool:
    # true must not match 1, nor "1" match 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (statsmodels' ``method="wilson"``); None for n = 0."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class _Ratio:
    """A ratio of Horvitz-Thompson totals, sum(y / p) / sum(x / p), with its variance."""

    rows: list[tuple[float, float, float]] = field(default_factory=list)  # (y, x, p)

    def add(self, y: bool, x: bool, p: float) -> None:
        if x:
            self.rows.append((float(y), 1.0, p))

    def estimate(self) -> tuple[float | None, list[float] | None]:
        total = sum(x / p for _, x, p in self.rows)
        if total <= 0:
            return None, None
        ratio = sum(y / p for y, _, p in self.rows) / total
        variance = sum((1 - p) / (p * p) * (y - ratio * x) ** 2 for y, x, p in self.rows) / (
            total * total
        )
        half = Z95 * math.sqrt(variance)
        return ratio, [max(0.0, ratio - half), min(1.0, ratio + half)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _interval(pair: tuple[float, float] | list[float] | None) -> list[float | None] | None:
    return None if pair is None else [_round(pair[0]), _round(pair[1])]


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None or precision + recall == 0:
        return None
    return 2 * precision * recall / (precision + recall)


@dataclass
class GuardTally:
    """The four cells of a check against the truth over one queue's settled items."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unweighted: int = 0
    precision_ht: _Ratio = field(default_factory=_Ratio)
    recall_ht: _Ratio = field(default_factory=_Ratio)

    def add(self, *, fired: bool, truth: bool, probability: float | None) -> None:
        if fired and truth:
            self.tp += 1
        elif fired:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1
        if probability is None or not 0 < probability <= 1:
            self.unweighted += 1
            return
        self.precision_ht.add(truth, fired, probability)
        self.recall_ht.add(fired, truth, probability)

    @property
    def reviewed(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def figures(self) -> dict[str, Any]:
        fired, caught_of = self.tp + self.fp, self.tp + self.fn
        precision = self.tp / fired if fired else None
        recall = self.tp / caught_of if caught_of else None
        ht_precision, ht_precision_ci = self.precision_ht.estimate()
        ht_recall, ht_recall_ci = self.recall_ht.estimate()
        return {
            "counts": {
                "reviewed": self.reviewed,
                "true_positives": self.tp,
                "false_positives": self.fp,
                "false_negatives": self.fn,
                "true_negatives": self.tn,
            },
            "precision": _round(precision),
            "precision_ci95": _interval(wilson(self.tp, fired)),
            "precision_n": fired,
            "recall": _round(recall),
            "recall_ci95": _interval(wilson(self.tp, caught_of)),
            "recall_n": caught_of,
            "f1": _round(_f1(precision, recall)),
            "population_estimate": {
                "precision": _round(ht_precision),
                "precision_ci95": _interval(ht_precision_ci),
                "recall": _round(ht_recall),
                "recall_ci95": _interval(ht_recall_ci),
                "f1": _round(_f1(ht_precision, ht_recall)),
                "n": self.reviewed - self.unweighted,
                "method": "each item weighted by 1 / its inclusion probability; 95% interval "
                "from the linearised variance under Poisson sampling",
            },
        }
