"""Worst slices: which dimension or metadata values have a higher negative rate than the rest.

Each slice with enough support (rated interactions) is tested against the rest of the project in
the same window with a two-proportion z-test; the p-values of every tested slice go through
Benjamini-Hochberg at q = 0.05, and only the slices it keeps are ranked as worse, largest
difference first. The rest follow by difference, marked not significant, so one noisy value with
a handful of ratings never tops the list. Pure functions of counts; no Django here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from annotation.insights.stats import benjamini_hochberg, two_proportions, wilson

DEFAULT_MIN_SUPPORT = 30
LOWEST_MIN_SUPPORT = 10
FDR_Q = 0.05
# Metadata slices considered per window: the most frequent keys, and values of each key.
MAX_METADATA_KEYS = 50
MAX_METADATA_VALUES = 100


@dataclass(frozen=True)
class SliceCount:
    """Rated and negative interactions of one slice: a dimension value or a metadata key=value."""

    source: str  # "dimension" or "metadata"
    key: str
    value: str
    rated: int
    negative: int


@dataclass(frozen=True)
class RankedSlice:
    slice: SliceCount
    rate: float
    ci95: tuple[float, float]
    rest_rated: int
    rest_negative: int
    rest_rate: float
    rest_ci95: tuple[float, float]
    difference: float
    difference_ci95: tuple[float, float]
    p_value: float
    significant: bool

    @property
    def worse(self) -> bool:
        return self.significant and self.difference > 0


@dataclass
class SliceRanking:
    rows: list[RankedSlice] = field(default_factory=list)
    tested: int = 0
    too_little_support: int = 0
    total_rated: int = 0
    total_negative: int = 0
    min_support: int = DEFAULT_MIN_SUPPORT
    q: float = FDR_Q


def rank_slices(
    slices: Iterable[SliceCount],
    *,
    total_rated: int,
    total_negative: int,
    min_support: int = DEFAULT_MIN_SUPPORT,
    q: float = FDR_Q,
) -> SliceRanking:
    """Slices tested against the rest; BH-significant worse ones first, then by difference."""
    ranking = SliceRanking(
        total_rated=total_rated, total_negative=total_negative, min_support=min_support, q=q
    )
    candidates = []
    for item in slices:
        rest_rated = total_rated - item.rated
        if item.rated < min_support or rest_rated < min_support:
            ranking.too_little_support += 1
            continue
        candidates.append(item)
    tests = []
    for item in candidates:
        rest_rated, rest_negative = total_rated - item.rated, total_negative - item.negative
        comparison = two_proportions(rest_negative, rest_rated, item.negative, item.rated)
        assert comparison is not None  # both sides have at least min_support observations
        tests.append((item, rest_rated, rest_negative, comparison))
    significant = benjamini_hochberg([c.p_value for *_, c in tests], q=q)
    for (item, rest_rated, rest_negative, comparison), kept in zip(tests, significant, strict=True):
        ci = wilson(item.negative, item.rated)
        rest_ci = wilson(rest_negative, rest_rated)
        assert ci is not None and rest_ci is not None
        ranking.rows.append(
            RankedSlice(
                slice=item,
                rate=item.negative / item.rated,
                ci95=ci,
                rest_rated=rest_rated,
                rest_negative=rest_negative,
                rest_rate=rest_negative / rest_rated,
                rest_ci95=rest_ci,
                difference=comparison.difference,
                difference_ci95=(comparison.low, comparison.high),
                p_value=comparison.p_value,
                significant=kept,
            )
        )
    ranking.tested = len(tests)
    ranking.rows.sort(key=lambda row: (not row.worse, -row.difference, row.p_value))
    return ranking


def top_metadata_values(
    counts: dict[tuple[str, str], tuple[int, int, int]],
    *,
    max_keys: int = MAX_METADATA_KEYS,
    max_values: int = MAX_METADATA_VALUES,
) -> list[tuple[str, str, int, int]]:
    """(key, value, rated, negative) of the most frequent keys and, per key, values.

    `counts` maps (key, value) to (interactions, rated, negative); frequency is by interactions.
    """
    by_key: dict[str, list[tuple[str, tuple[int, int, int]]]] = {}
    for (key, value), figures in counts.items():
        by_key.setdefault(key, []).append((value, figures))
    seen = {key: sum(f[0] for _, f in values) for key, values in by_key.items()}
    keys = sorted(seen, key=lambda k: (-seen[k], k))[:max_keys]
    chosen: list[tuple[str, str, int, int]] = []
    for key in keys:
        values = sorted(by_key[key], key=lambda pair: (-pair[1][0], pair[0]))[:max_values]
        chosen.extend((key, value, c[1], c[2]) for value, c in values)
    return chosen


def metadata_scalar(value: object) -> str | None:
    """A top-level metadata value as slice text, or None for lists, objects and nulls."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value[:200]
    if isinstance(value, int | float):
        return str(value)
    return None


def parse_min_support(raw: str | None) -> int:
    """`min_support`: whole number ≥ 10 (default 30); raises InvalidQuery naming it."""
    from annotation.insights.query import InvalidQuery

    if raw is None or raw == "":
        return DEFAULT_MIN_SUPPORT
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidQuery("min_support", f"`min_support` is a whole number, not {raw[:40]!r}")
    value = int(raw)
    if value < LOWEST_MIN_SUPPORT:
        raise InvalidQuery(
            "min_support",
            f"`min_support` must be at least {LOWEST_MIN_SUPPORT}: smaller slices are noise",
        )
    return value
