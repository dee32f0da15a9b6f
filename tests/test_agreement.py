from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from annotation.agreement import (
    Level,
    Weights,
    bootstrap_ci,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    multilabel_units,
    percent_agreement,
)

TOL = 1e-9
SEEDS = [0, 1, 2, 3, 4, 5]
LEVELS: list[Level] = ["nominal", "ordinal", "interval", "ratio"]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers x 12 units, values 1..5, missing data marked None.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]

# Wikipedia "Fleiss' kappa" worked example: 10 items, 14 raters, counts per category 1..5.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Fleiss (1971) psychiatric diagnoses, 30 subjects x 6 raters, categories
# 1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other.
# Fleiss published only the count table; this is the raw form distributed as the
# `diagnoses` data set of the R package irr (also used in statsmodels' own tests).
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4],
    [2, 2, 2, 5, 5, 5],
    [2, 3, 3, 3, 3, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3],
    [3, 3, 3, 3, 5, 5],
    [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4],
    [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4],
    [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3],
    [1, 4, 4, 4, 4, 4],
    [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5],
    [1, 1, 1, 1, 1, 2],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 4, 4, 4, 4, 4],
    [2, 2, 4, 5, 5, 5],
    [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4],
    [1, 1, 1, 1, 5, 5],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3],
    [5, 5, 5, 5, 5, 5],
]


def _random_ratings(
    seed: int,
    n_raters: int,
    n_units: int,
    values: Sequence[Any],
    p_missing: float,
) -> list[list[Any]]:
    """Raters x units matrix of values drawn from ``values``; None marks a missing rating."""
    rng = np.random.default_rng(seed)
    # Skewed category probabilities plus a shared "true" value make agreement non-trivial.
    probs = rng.dirichlet(np.ones(len(values)))
    truth = rng.choice(len(values), size=n_units, p=probs)
    matrix: list[list[Any]] = []
    for _ in range(n_raters):
        noise = rng.choice(len(values), size=n_units, p=probs)
        copy = rng.random(n_units) < 0.6
        picks = np.where(copy, truth, noise)
        absent = rng.random(n_units) < p_missing
        matrix.append([None if absent[j] else values[picks[j]] for j in range(n_units)])
    return matrix


def _to_units(matrix: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    n_units = len(matrix[0])
    return [
        {f"rater{i}": row[j] for i, row in enumerate(matrix) if row[j] is not None}
        for j in range(n_units)
    ]


def _to_float_matrix(matrix: Sequence[Sequence[Any]]) -> np.ndarray:
    return np.array([[np.nan if v is None else float(v) for v in row] for row in matrix])


def _counts_to_units(table: Sequence[Sequence[int]]) -> list[dict[str, int]]:
    units = []
    for row in table:
        labels = [category for category, count in enumerate(row, start=1) for _ in range(count)]
        units.append({f"rater{i}": label for i, label in enumerate(labels)})
    return units


def _rows_to_units(rows: Sequence[Sequence[Hashable]]) -> list[dict[str, Hashable]]:
    return [{f"rater{i}": value for i, value in enumerate(row)} for row in rows]


# --- cross-checks against the reference libraries ---------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_it_matches_sklearn_cohen_kappa(seed: int, weights: Weights) -> None:
    # Values skip 3, 5 and 6 so that "positions of observed values" differs from the scale.
    matrix = _random_ratings(seed, 2, 150, [1, 2, 4, 7], p_missing=0.2)
    units = _to_units(matrix)
    pairs = [(a, b) for a, b in zip(*matrix, strict=True) if a is not None and b is not None]
    y1, y2 = [a for a, _ in pairs], [b for _, b in pairs]
    scale = [1, 2, 3, 4, 5, 6, 7]

    expected = cohen_kappa_score(y1, y2, weights=weights)
    assert cohen_kappa(units, weights=weights) == pytest.approx(expected, abs=TOL)

    expected_scaled = cohen_kappa_score(y1, y2, labels=scale, weights=weights)
    got_scaled = cohen_kappa(units, weights=weights, categories=scale)
    assert got_scaled == pytest.approx(expected_scaled, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_it_matches_sklearn_cohen_kappa_on_string_labels(seed: int) -> None:
    labels = ["bad", "meh", "good"]
    matrix = _random_ratings(seed, 2, 80, labels, p_missing=0.1)
    units = _to_units(matrix)
    pairs = [(a, b) for a, b in zip(*matrix, strict=True) if a is not None and b is not None]
    y1, y2 = [a for a, _ in pairs], [b for _, b in pairs]

    assert cohen_kappa(units) == pytest.approx(cohen_kappa_score(y1, y2), abs=TOL)
    scaled: list[Weights] = ["linear", "quadratic"]
    for weights in scaled:
        expected = cohen_kappa_score(y1, y2, labels=labels, weights=weights)
        got = cohen_kappa(units, weights=weights, categories=labels)
        assert got == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_raters", [2, 3, 4, 6])
def test_it_matches_statsmodels_fleiss_kappa(seed: int, n_raters: int) -> None:
    matrix = _random_ratings(seed, n_raters, 120, [1, 2, 3, 4, 5], p_missing=0.0)
    table, _ = aggregate_raters(np.array(matrix).T)
    expected = sm_fleiss_kappa(table, method="fleiss")
    assert fleiss_kappa(_to_units(matrix)) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_it_matches_statsmodels_fleiss_kappa_on_string_labels(seed: int) -> None:
    matrix = _random_ratings(seed, 4, 60, ["spam", "ham", "eggs"], p_missing=0.0)
    table, _ = aggregate_raters(np.array(matrix, dtype=object).T.astype(str))
    expected = sm_fleiss_kappa(table, method="fleiss")
    assert fleiss_kappa(_to_units(matrix)) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_raters", [2, 3, 5, 6])
@pytest.mark.parametrize("level", LEVELS)
def test_it_matches_krippendorff_package(seed: int, n_raters: int, level: Level) -> None:
    matrix = _random_ratings(seed, n_raters, 200, [1, 2, 3, 5, 8], p_missing=0.3)
    expected = krippendorff.alpha(
        reliability_data=_to_float_matrix(matrix), level_of_measurement=level
    )
    got = krippendorff_alpha(_to_units(matrix), level=level)
    assert got == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_it_matches_krippendorff_package_on_float_values(seed: int) -> None:
    matrix = _random_ratings(seed, 4, 150, [0.5, 1.25, 2.0, 3.75, 10.0], p_missing=0.25)
    data = _to_float_matrix(matrix)
    units = _to_units(matrix)
    numeric_levels: list[Level] = ["interval", "ratio"]
    for level in numeric_levels:
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert krippendorff_alpha(units, level=level) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_it_matches_krippendorff_package_on_labels_with_declared_scale(seed: int) -> None:
    scale = ["very low", "low", "mid", "high", "very high"]
    # "very high" is declared but never used.
    matrix = _random_ratings(seed, 3, 150, scale[:4], p_missing=0.2)
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix])
    units = _to_units(matrix)

    nominal = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert krippendorff_alpha(units) == pytest.approx(nominal, abs=TOL)
    ordinal = krippendorff.alpha(
        reliability_data=data, level_of_measurement="ordinal", value_domain=scale
    )
    assert krippendorff_alpha(units, "ordinal", categories=scale) == pytest.approx(ordinal, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_it_computes_percent_agreement_as_mean_pairwise_agreement(seed: int) -> None:
    matrix = _random_ratings(seed, 5, 100, ["a", "b", "c"], p_missing=0.4)
    units = _to_units(matrix)
    shares = []
    for unit in units:
        values = list(unit.values())
        n = len(values)
        if n < 2:
            continue
        agreeing = sum(values[i] == values[j] for i in range(n) for j in range(n) if i != j)
        shares.append(agreeing / (n * (n - 1)))
    assert percent_agreement(units) == pytest.approx(sum(shares) / len(shares), abs=TOL)


# --- published examples --------------------------------------------------------------


def test_it_reproduces_krippendorff_2011_example() -> None:
    units = _to_units(KRIPPENDORFF_2011)
    assert round(krippendorff_alpha(units, "nominal"), 3) == 0.743
    assert round(krippendorff_alpha(units, "ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(units, "interval"), 3) == 0.849


def test_it_reproduces_wikipedia_fleiss_example() -> None:
    assert round(fleiss_kappa(_counts_to_units(WIKIPEDIA_FLEISS)), 3) == 0.210


def test_it_reproduces_fleiss_1971_diagnoses() -> None:
    assert round(fleiss_kappa(_rows_to_units(FLEISS_1971)), 3) == 0.430


def test_it_computes_percent_agreement_by_hand() -> None:
    # 2 of the 6 ordered pairs agree on the first item, all pairs on the second.
    units = [{"a": "x", "b": "x", "c": "y"}, {"a": "z", "b": "z"}, {"a": "solo"}]
    assert percent_agreement(units) == pytest.approx((2 / 6 + 1) / 2)


# --- degenerate inputs ---------------------------------------------------------------


def _all_metrics(units: Sequence[dict[Any, Any]]) -> list[float]:
    return [
        percent_agreement(units),
        cohen_kappa(units) if len({r for u in units for r in u}) <= 2 else math.nan,
        fleiss_kappa(units),
        *(krippendorff_alpha(units, level) for level in LEVELS),
    ]


@pytest.mark.parametrize(
    "units",
    [
        pytest.param([], id="empty"),
        pytest.param([{}, {}], id="no-ratings"),
        pytest.param([{"ann": 1}, {"ann": 2}, {"ann": 1}], id="one-annotator"),
        pytest.param([{"ann": 1}, {"bob": 2}, {"cy": 3}], id="one-rating-per-item"),
        pytest.param([{"ann": 1, "bob": None}, {"ann": math.nan, "bob": 2}], id="missing-values"),
    ],
)
def test_it_returns_nan_without_pairable_ratings(units: list[dict[str, Any]]) -> None:
    assert all(math.isnan(value) for value in _all_metrics(units))
    assert all(math.isnan(end) for end in bootstrap_ci(units, percent_agreement, n_resamples=5))


def test_it_returns_one_for_a_single_category_everywhere() -> None:
    units = [{"ann": 3, "bob": 3}, {"ann": 3, "bob": 3}, {"ann": 3, "bob": 3}]
    assert _all_metrics(units) == [1.0] * 7
    assert cohen_kappa(units, weights="quadratic", categories=[1, 2, 3, 4, 5]) == 1.0
    assert krippendorff_alpha(units, "ordinal", categories=[1, 2, 3, 4, 5]) == 1.0


def test_it_ignores_unpaired_values_when_checking_for_a_constant() -> None:
    # The 5 is never paired, so every pairable value is 3.
    units = [{"ann": 3, "bob": 3, "cy": 3}, {"ann": 5}, {"bob": 3, "cy": 3}]
    assert krippendorff_alpha(units) == 1.0
    assert percent_agreement(units) == 1.0


def test_it_differs_from_reference_libraries_only_where_documented() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(cohen_kappa_score([3, 3, 3], [3, 3, 3]))
        assert math.isnan(sm_fleiss_kappa([[2, 0], [2, 0]]))
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff.alpha(reliability_data=[[3, 3, 3], [3, 3, 3]], level_of_measurement="nominal")
    with pytest.raises(ValueError, match="at least two coders"):
        krippendorff.alpha(reliability_data=[[1, np.nan], [np.nan, 2]])


def test_it_treats_none_and_nan_as_missing() -> None:
    with_missing: list[dict[str, Hashable]] = [
        {"a": 1, "b": 1, "c": None},
        {"a": 2, "b": float("nan"), "c": 2},
        {"a": 1},
    ]
    without = [{"a": 1, "b": 1}, {"a": 2, "c": 2}, {"a": 1}]
    assert krippendorff_alpha(with_missing) == krippendorff_alpha(without)
    assert percent_agreement(with_missing) == percent_agreement(without)


# --- misuse --------------------------------------------------------------------------


def test_it_rejects_cohen_kappa_with_three_annotators() -> None:
    units = [{"ann": 1, "bob": 1}, {"ann": 2, "cy": 2}]
    with pytest.raises(ValueError, match="exactly two annotators, found 3"):
        cohen_kappa(units)


def test_it_rejects_fleiss_kappa_with_ragged_ratings() -> None:
    units = [{"a": 1, "b": 1, "c": 2}, {"a": 1, "b": 2, "c": 2}, {"a": 1, "b": 1}]
    with pytest.raises(ValueError, match="item 2 has 2"):
        fleiss_kappa(units)


def test_it_rejects_values_outside_declared_categories() -> None:
    units = [{"ann": 1, "bob": 6}, {"ann": 2, "bob": 2}]
    with pytest.raises(ValueError, match="categories"):
        cohen_kappa(units, weights="linear", categories=[1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="categories"):
        krippendorff_alpha(units, "ordinal", categories=[1, 2, 3, 4, 5])


def test_it_rejects_non_numeric_interval_values() -> None:
    with pytest.raises(ValueError, match="numeric"):
        krippendorff_alpha([{"ann": "low", "bob": "high"}], "interval")


def test_it_rejects_unknown_options() -> None:
    units = [{"ann": 1, "bob": 2}]
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa(units, weights="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(units, "circular")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci(units, percent_agreement, n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(units, percent_agreement, confidence=1.0)


def test_it_points_multi_choice_values_to_multilabel_units() -> None:
    with pytest.raises(TypeError, match="multilabel_units"):
        krippendorff_alpha([{"ann": ["a"], "bob": ["a", "b"]}])  # type: ignore[dict-item]


# --- bootstrap -----------------------------------------------------------------------


def test_it_bootstraps_deterministically_around_the_estimate() -> None:
    units = _to_units(_random_ratings(7, 3, 300, [1, 2, 3, 4], p_missing=0.1))
    metric = partial(krippendorff_alpha, level="ordinal")
    first = bootstrap_ci(units, metric, n_resamples=200, seed=42)
    again = bootstrap_ci(units, metric, n_resamples=200, seed=42)
    other = bootstrap_ci(units, metric, n_resamples=200, seed=43)

    assert first == again
    assert first != other
    low, high = first
    assert low < metric(units) < high
    assert high - low < 0.3


def test_it_widens_the_interval_with_confidence() -> None:
    units = _to_units(_random_ratings(3, 2, 200, ["a", "b", "c"], p_missing=0.1))
    narrow = bootstrap_ci(units, cohen_kappa, n_resamples=200, confidence=0.5)
    wide = bootstrap_ci(units, cohen_kappa, n_resamples=200, confidence=0.99)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_it_ignores_nan_resamples() -> None:
    units = [{"a": 1, "b": 1}, {"a": 2}]  # resamples of only the second item give nan
    estimates = iter([math.nan, 0.2, math.nan, 0.4, 0.6])
    low, high = bootstrap_ci(units, lambda _: next(estimates), n_resamples=5, confidence=0.5)
    assert (low, high) == pytest.approx((0.3, 0.5))
    assert all(map(math.isnan, bootstrap_ci(units, lambda _: math.nan, n_resamples=3)))


# --- multi-choice ---------------------------------------------------------------------


def test_it_converts_multi_choice_ratings_per_label() -> None:
    units: list[dict[str, Any]] = [
        {"ann": ["off_topic", "rude"], "bob": {"rude"}, "cy": []},
        {"ann": ("off_topic",), "bob": None, "cy": "off_topic"},
    ]
    assert multilabel_units(units, "rude") == [
        {"ann": True, "bob": True, "cy": False},
        {"ann": False, "cy": False},
    ]
    assert multilabel_units(units, "off_topic") == [
        {"ann": True, "bob": False, "cy": False},
        {"ann": True, "cy": True},
    ]
    assert percent_agreement(multilabel_units(units, "off_topic")) == pytest.approx((2 / 6 + 1) / 2)
