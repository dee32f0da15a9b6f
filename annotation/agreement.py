"""Inter-annotator agreement metrics.

Pure Python + numpy (plus the ``krippendorff`` package); no Django imports, so ML
engineers can use it directly on exported annotations.

Input convention
----------------
``units`` is a sequence with one mapping ``{annotator_id: value}`` per annotated item.
Annotators who did not rate an item are simply absent from its mapping. Values are
hashable scalars (``str``, ``int``, ``float``, ``bool``); values that compare equal in
Python (``1``, ``1.0``, ``True``) are the same category. ``None`` and float NaN are
treated as "no rating", exactly as if the annotator were absent.

Degenerate inputs
-----------------
None of the metrics raise on degenerate data (only on misuse, as documented per
function):

* no item with two or more ratings (empty input, a single annotator, every item rated
  once) -> ``nan``;
* every paired rating has the same value (no variance, so both observed and expected
  disagreement are 0) -> ``1.0`` for every metric. The reference libraries differ here:
  ``sklearn.metrics.cohen_kappa_score`` and ``statsmodels``' ``fleiss_kappa`` return
  ``nan`` (0/0, with a warning) and ``krippendorff.alpha`` raises ``ValueError`` ("more
  than one value in the domain") or returns ``nan`` when the domain is wider than the
  values actually paired.

Example
-------
>>> units = [{"ann": "good", "bob": "good"}, {"ann": "bad", "bob": "good", "cy": "bad"}]
>>> round(percent_agreement(units), 4)
0.6667
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, Literal, TypeAlias

import krippendorff
import numpy as np
import numpy.typing as npt

__all__ = [
    "Level",
    "Metric",
    "Unit",
    "Units",
    "Weights",
    "bootstrap_ci",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "multilabel_units",
    "percent_agreement",
]

# The key type is ``Any`` because ``Mapping`` is invariant in its key: with ``Hashable``
# a caller's ``dict[str, int]`` would not type-check.
Unit: TypeAlias = Mapping[Any, Hashable]
Units: TypeAlias = Sequence[Unit]
Metric: TypeAlias = Callable[[Units], float]
Weights: TypeAlias = Literal["linear", "quadratic"] | None
Level: TypeAlias = Literal["nominal", "ordinal", "interval", "ratio"]

_IntArray: TypeAlias = npt.NDArray[np.intp]
_FloatArray: TypeAlias = npt.NDArray[np.float64]

_NAN = float("nan")
_LEVELS: frozenset[str] = frozenset({"nominal", "ordinal", "interval", "ratio"})
_WEIGHTS: frozenset[str | None] = frozenset({None, "linear", "quadratic"})


@dataclass(frozen=True, slots=True)
class _Ratings:
    """All non-missing ratings as parallel integer arrays (one entry per rating)."""

    n_units: int
    unit: _IntArray  # item index
    rater: _IntArray  # index into ``raters``
    value: _IntArray  # index into ``values``
    raters: list[Hashable]  # distinct annotator ids, first-seen order
    values: list[Hashable]  # distinct values, first-seen order

    def ratings_per_unit(self) -> _IntArray:
        return np.bincount(self.unit, minlength=self.n_units)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _encode(units: Units) -> _Ratings:
    """Flatten ``units`` into integer-coded arrays without per-rating Python code."""
    n_units = len(units)
    sizes = np.fromiter(map(len, units), dtype=np.intp, count=n_units)
    rater_ids: list[Hashable] = list(chain.from_iterable(units))
    values: list[Hashable] = list(chain.from_iterable(unit.values() for unit in units))
    unit_index = np.repeat(np.arange(n_units, dtype=np.intp), sizes)

    # dict.fromkeys deduplicates at C speed; the per-rating lookups then go through
    # map(dict.__getitem__) rather than a Python-level loop body.
    try:
        value_code = {v: i for i, v in enumerate(dict.fromkeys(values))}
    except TypeError as exc:
        raise TypeError(
            "rating values must be hashable scalars; convert multi-choice values with "
            "multilabel_units() first"
        ) from exc
    rater_code = {r: i for i, r in enumerate(dict.fromkeys(rater_ids))}
    value_index = np.fromiter(map(value_code.__getitem__, values), dtype=np.intp, count=len(values))
    rater_index = np.fromiter(
        map(rater_code.__getitem__, rater_ids), dtype=np.intp, count=len(rater_ids)
    )
    distinct_values = list(value_code)
    distinct_raters = list(rater_code)

    missing = np.fromiter(map(_is_missing, distinct_values), dtype=bool, count=len(distinct_values))
    if missing.any():
        keep = ~missing[value_index]
        unit_index, rater_index = unit_index[keep], rater_index[keep]
        recode = np.cumsum(~missing) - 1
        value_index = recode[value_index[keep]]
        distinct_values = [v for v, m in zip(distinct_values, missing, strict=True) if not m]
        # Drop annotators whose only "ratings" were missing values.
        used_raters, rater_index = np.unique(rater_index, return_inverse=True)
        distinct_raters = [distinct_raters[i] for i in used_raters]

    return _Ratings(
        n_units=n_units,
        unit=unit_index,
        rater=rater_index.astype(np.intp, copy=False),
        value=value_index.astype(np.intp, copy=False),
        raters=distinct_raters,
        values=distinct_values,
    )


def _cells(ratings: _Ratings) -> tuple[_IntArray, _IntArray, _FloatArray]:
    """Sparse (item, value) count table: item index, value index, number of ratings."""
    n_values = max(len(ratings.values), 1)
    keys, counts = np.unique(ratings.unit * n_values + ratings.value, return_counts=True)
    return keys // n_values, keys % n_values, counts.astype(np.float64)


def _scale_positions(
    values: Sequence[Hashable], categories: Sequence[Hashable] | None, *, need_order: bool
) -> tuple[_IntArray, int]:
    """Map each distinct value to its position on the scale; return (positions, scale size).

    With ``categories`` the scale is the declared one; otherwise it is the distinct
    values, sorted when an order is needed.
    """
    if categories is not None:
        position = {c: i for i, c in enumerate(categories)}
        if len(position) != len(categories):
            raise ValueError(
                "categories contains duplicates (values equal in Python, e.g. 1 and True)"
            )
        unknown = [v for v in values if v not in position]
        if unknown:
            raise ValueError(
                f"values not among the declared categories: {unknown[:10]!r}"
                f"{' ...' if len(unknown) > 10 else ''}"
            )
        return np.array([position[v] for v in values], dtype=np.intp), len(categories)

    order: list[int] = list(range(len(values)))
    if need_order:
        try:
            order.sort(key=values.__getitem__)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ValueError(
                "cannot order the observed values (mixed types?); pass categories= "
                "with the ordered scale"
            ) from exc
    positions = np.empty(len(values), dtype=np.intp)
    positions[np.array(order, dtype=np.intp)] = np.arange(len(values), dtype=np.intp)
    return positions, len(values)


def percent_agreement(units: Units) -> float:
    """Mean pairwise percent agreement.

    For every item with at least two ratings, the share of ordered annotator pairs that
    gave the same value; the result is the unweighted mean over those items. Items with
    fewer than two ratings are ignored.

    Returns ``nan`` when no item has two ratings (empty input, one annotator, every item
    rated once) and ``1.0`` when every pair agrees (e.g. one category everywhere).
    """
    ratings = _encode(units)
    per_unit = ratings.ratings_per_unit()
    paired = per_unit >= 2
    if not paired.any():
        return _NAN
    cell_unit, _, counts = _cells(ratings)
    agreeing_pairs = np.bincount(
        cell_unit, weights=counts * (counts - 1), minlength=ratings.n_units
    )
    n = per_unit[paired].astype(np.float64)
    return float(np.mean(agreeing_pairs[paired] / (n * (n - 1))))


def cohen_kappa(
    units: Units,
    weights: Weights = None,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa for exactly two annotators, optionally weighted.

    Only items rated by both annotators are used. Weighted variants penalise
    disagreement by the distance between the positions of the two values on the ordered
    scale ``categories`` (e.g. a Likert scale ``[1, 2, 3, 4, 5]`` declared by the
    schema). Without ``categories`` the scale is the sorted distinct values seen on the
    jointly rated items, which is what ``sklearn.metrics.cohen_kappa_score`` does: a
    Likert value nobody used is then skipped, shrinking the distances around it, so pass
    ``categories`` for weighted kappa on declared scales.

    Matches ``sklearn.metrics.cohen_kappa_score(y1, y2, labels=categories,
    weights=weights)`` except in the cases below.

    Returns ``nan`` when fewer than two annotators rated anything or no item was rated by
    both; ``1.0`` when both annotators used one and the same value on every jointly
    rated item (sklearn: ``nan``).

    Raises ``ValueError`` if more than two distinct annotators appear, if ``weights`` is
    not ``None``/``"linear"``/``"quadratic"``, if a value is not among ``categories``
    (sklearn silently drops such pairs), or if weighted kappa needs an order for values
    that cannot be sorted and no ``categories`` were given.
    """
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    ratings = _encode(units)
    if len(ratings.raters) > 2:
        shown = ", ".join(map(repr, ratings.raters[:5]))
        raise ValueError(
            f"cohen_kappa needs exactly two annotators, found {len(ratings.raters)} "
            f"({shown}{', ...' if len(ratings.raters) > 5 else ''}); use fleiss_kappa or "
            "krippendorff_alpha for more annotators"
        )
    if len(ratings.raters) < 2:
        return _NAN
    first = np.full(ratings.n_units, -1, dtype=np.intp)
    second = np.full(ratings.n_units, -1, dtype=np.intp)
    is_first = ratings.rater == 0
    first[ratings.unit[is_first]] = ratings.value[is_first]
    second[ratings.unit[~is_first]] = ratings.value[~is_first]
    both = (first >= 0) & (second >= 0)
    if not both.any():
        return _NAN
    y1, y2 = first[both], second[both]

    if categories is not None:
        positions, n_classes = _scale_positions(ratings.values, categories, need_order=False)
    else:
        used = np.unique(np.concatenate([y1, y2]))
        used_positions, n_classes = _scale_positions(
            [ratings.values[i] for i in used], None, need_order=weights is not None
        )
        positions = np.full(len(ratings.values), -1, dtype=np.intp)
        positions[used] = used_positions

    confusion = np.bincount(
        positions[y1] * n_classes + positions[y2], minlength=n_classes * n_classes
    ).reshape(n_classes, n_classes)
    # Same arithmetic as sklearn so that results agree to rounding error.
    confusion_f = confusion.astype(np.float64)
    sum0 = confusion_f.sum(axis=0)
    sum1 = confusion_f.sum(axis=1)
    expected = np.outer(sum0, sum1) / sum0.sum()
    if weights is None:
        w_mat = np.ones((n_classes, n_classes))
        np.fill_diagonal(w_mat, 0.0)
    else:
        grid = np.zeros((n_classes, n_classes)) + np.arange(n_classes)
        w_mat = np.abs(grid - grid.T) if weights == "linear" else (grid - grid.T) ** 2
    expected_disagreement = float(np.sum(w_mat * expected))
    if expected_disagreement == 0.0:
        # Only possible when both annotators used a single, shared value throughout, so
        # observed disagreement is 0 as well: perfect agreement on a constant.
        return 1.0
    return float(1.0 - np.sum(w_mat * confusion_f) / expected_disagreement)


def fleiss_kappa(units: Units) -> float:
    """Fleiss' kappa (Fleiss 1971) for any number of annotators per item.

    Annotator identities are irrelevant, but every item must carry the same number of
    ratings. Equals ``statsmodels.stats.inter_rater.fleiss_kappa(table,
    method="fleiss")`` on the items x categories count table.

    Returns ``nan`` when no item has two or more ratings (empty input, one annotator,
    every item rated once), and ``1.0`` when all ratings are the same value
    (statsmodels: ``nan``).

    Raises ``ValueError`` naming the first offending item index when items with two or
    more ratings coexist with items having a different number of ratings (``None``/NaN
    values count as missing). Use ``krippendorff_alpha`` for such data.
    """
    ratings = _encode(units)
    per_unit = ratings.ratings_per_unit()
    if ratings.n_units == 0 or per_unit.max() < 2:
        return _NAN
    sizes, frequency = np.unique(per_unit, return_counts=True)
    if len(sizes) > 1:
        usual = int(sizes[np.argmax(frequency)])
        offending = np.flatnonzero(per_unit != usual)
        first_bad = int(offending[0])
        raise ValueError(
            "fleiss_kappa needs the same number of ratings on every item: most items have "
            f"{usual} but item {first_bad} has {int(per_unit[first_bad])} "
            f"({len(offending)} item(s) differ); use krippendorff_alpha for missing ratings"
        )
    n_raters = float(sizes[0])
    cell_unit, cell_value, counts = _cells(ratings)
    category_totals = np.bincount(cell_value, weights=counts, minlength=len(ratings.values))
    if np.count_nonzero(category_totals) <= 1:
        return 1.0
    p_category = category_totals / (ratings.n_units * n_raters)
    sum_squares = np.bincount(cell_unit, weights=counts * counts, minlength=ratings.n_units)
    p_item = (sum_squares - n_raters) / (n_raters * (n_raters - 1.0))
    p_mean = float(p_item.mean())
    p_expected = float((p_category * p_category).sum())
    return (p_mean - p_expected) / (1.0 - p_expected)


def krippendorff_alpha(
    units: Units,
    level: Level = "nominal",
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Krippendorff's alpha for any number of annotators and missing ratings.

    Items with fewer than two ratings are ignored (they carry no pairable values).
    Computed by ``krippendorff.alpha`` on an annotators x items matrix (NaN = missing):

    * ``"nominal"``: values of any hashable type, coded as integers;
    * ``"ordinal"``: values are replaced by their position on the ordered scale
      ``categories`` (default: the sorted distinct observed values), which is what
      passing the scale as ``value_domain`` does, as ordinal distances depend only on
      ranks and frequencies;
    * ``"interval"`` / ``"ratio"``: values must be real numbers (``bool`` counts as
      0/1) and are used as is; ``categories``, if given, only validates them.

    Returns ``nan`` when no item has two ratings (empty input, one annotator, every item
    rated once) and ``1.0`` when all paired ratings share one value (``krippendorff``
    raises ``ValueError`` or returns ``nan`` there). For ``"ratio"`` data in which the
    only differing values are opposites (``x`` and ``-x``), the ratio distance is 0
    everywhere and the result is ``nan``.

    Raises ``ValueError`` for an unknown ``level``, values not among ``categories``,
    unsortable values for ``"ordinal"`` without ``categories``, or non-numeric values for
    ``"interval"``/``"ratio"``.

    Cost: one pass over ``units`` plus numpy work; ``krippendorff.alpha`` holds an
    items x categories x categories float array, so memory grows with the square of the
    number of distinct values (fine for rating scales, not for free text).
    """
    if level not in _LEVELS:
        raise ValueError(
            f"level must be 'nominal', 'ordinal', 'interval' or 'ratio', not {level!r}"
        )
    ratings = _encode(units)
    values = ratings.values

    domain: _FloatArray
    if level in ("interval", "ratio"):
        scale = values if categories is None else list(categories)
        non_numeric = [v for v in scale if not isinstance(v, numbers.Real)]
        if non_numeric:
            raise ValueError(
                f"level={level!r} needs numeric values, got {non_numeric[:10]!r}; use "
                "level='ordinal' with categories= for ordered labels"
            )
        if categories is not None:
            _scale_positions(values, categories, need_order=False)
        numeric = np.array([float(v) for v in values], dtype=np.float64)  # type: ignore[arg-type]
        domain = np.unique(np.array([float(v) for v in scale], dtype=np.float64))  # type: ignore[arg-type]
    else:
        positions, n_classes = _scale_positions(values, categories, need_order=level == "ordinal")
        numeric = positions.astype(np.float64)
        domain = np.arange(n_classes, dtype=np.float64)

    per_unit = ratings.ratings_per_unit()
    paired = per_unit >= 2
    if not paired.any():
        return _NAN
    keep = paired[ratings.unit]
    kept_values = ratings.value[keep]
    if np.unique(numeric[kept_values]).size <= 1:
        return 1.0

    compact_unit = (np.cumsum(paired) - 1)[ratings.unit[keep]]
    matrix = np.full((len(ratings.raters), int(paired.sum())), np.nan)
    matrix[ratings.rater[keep], compact_unit] = numeric[kept_values]
    return float(
        krippendorff.alpha(reliability_data=matrix, value_domain=domain, level_of_measurement=level)
    )


def bootstrap_ci(
    units: Units,
    metric: Metric,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``metric`` over items.

    Draws ``n_resamples`` resamples of ``len(units)`` items with replacement from
    ``numpy.random.default_rng(seed)`` (so the result is deterministic for a seed),
    evaluates ``metric`` on each, ignores ``nan`` estimates and returns the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles as ``(low, high)``.
    Pass extra metric arguments with ``functools.partial``, e.g.
    ``partial(cohen_kappa, weights="quadratic")``.

    Returns ``(nan, nan)`` for empty ``units`` or when every resample gives ``nan``.
    Errors raised by ``metric`` (misuse) propagate.

    Each resample is passed to ``metric`` with its items in index order, so ``metric``
    must not depend on item order (none of the metrics here do).

    Cost: ``n_resamples`` full evaluations of ``metric`` on ``len(units)`` items. For
    ``krippendorff_alpha`` on 100,000 items x 3 annotators that is about 0.13 s per
    resample (``bench/agreement_metrics.py``), i.e. 2-3 minutes for the default 1000;
    pass ``n_resamples=200`` (about 30 s) for a quick look, at the price of noisier
    interval ends.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, not {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, not {confidence}")
    n_units = len(units)
    if n_units == 0:
        return _NAN, _NAN
    rng = np.random.default_rng(seed)
    estimates = np.empty(n_resamples, dtype=np.float64)
    for r in range(n_resamples):
        # A resample is a multiset of items and agreement metrics ignore item order;
        # visiting the mappings in memory order roughly halves the metric's run time.
        picks = np.sort(rng.integers(0, n_units, size=n_units)).tolist()
        estimates[r] = metric([units[i] for i in picks])
    finite = estimates[~np.isnan(estimates)]
    if finite.size == 0:
        return _NAN, _NAN
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def multilabel_units(
    units: Sequence[Mapping[Any, object]], label: Hashable
) -> list[dict[Any, bool]]:
    """Turn multi-choice ratings into binary units for one ``label``.

    Each annotator's value (a list, tuple, set or frozenset of chosen labels) becomes
    ``True`` if it contains ``label`` and ``False`` otherwise, so per-reason agreement is
    e.g. ``krippendorff_alpha(multilabel_units(units, "off_topic"))``. An empty
    collection means "answered, chose nothing" and gives ``False``; ``None``/NaN means
    "did not answer" and the annotator is left out of that item. A bare scalar (e.g. a
    string from a single-choice question) is treated as a one-element choice.
    """
    converted: list[dict[Any, bool]] = []
    for unit in units:
        binary: dict[Any, bool] = {}
        for annotator, chosen in unit.items():
            if _is_missing(chosen):
                continue
            if isinstance(chosen, list | tuple | set | frozenset):
                binary[annotator] = label in chosen
            else:
                binary[annotator] = chosen == label
        converted.append(binary)
    return converted
