"""The insights statistics against scipy and statsmodels, and the weighted estimate by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from annotation.insights.stats import (
    benjamini_hochberg,
    hajek_from_sums,
    required_n_proportions,
    two_proportions,
    welch,
    wilson,
)
from annotation.sampling.estimates import hajek_proportion


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (140, 980), (2901, 9700)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")

    assert wilson(k, n) == pytest.approx((low, high), abs=1e-9)


def test_wilson_of_nothing_is_none() -> None:
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("k_a", "n_a", "k_b", "n_b"), [(1372, 9800, 2813, 9700), (40, 400, 52, 390), (5, 20, 5, 20)]
)
def test_two_proportions_match_statsmodels(k_a: int, n_a: int, k_b: int, n_b: int) -> None:
    result = two_proportions(k_a, n_a, k_b, n_b)
    assert result is not None
    statistic, p_value = proportions_ztest([k_b, k_a], [n_b, n_a])
    low, high = confint_proportions_2indep(k_b, n_b, k_a, n_a, method="wald", compare="diff")

    assert result.difference == pytest.approx(k_b / n_b - k_a / n_a, abs=1e-12)
    assert result.statistic == pytest.approx(statistic, abs=1e-9)
    assert result.p_value == pytest.approx(p_value, abs=1e-9)
    assert (result.low, result.high) == pytest.approx((low, high), abs=1e-9)


def test_required_n_matches_statsmodels_power() -> None:
    p_a, p_b = 0.14, 0.29
    h = abs(2 * np.arcsin(np.sqrt(p_b)) - 2 * np.arcsin(np.sqrt(p_a)))
    expected = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1.0)

    assert required_n_proportions(p_a, p_b) == int(np.ceil(expected))
    assert required_n_proportions(0.2, 0.2) is None


def test_welch_matches_scipy_from_sums() -> None:
    rng = np.random.default_rng(11)
    a = rng.choice([0, 0.25, 0.5, 0.75, 1.0], size=400, p=[0.1, 0.1, 0.2, 0.3, 0.3])
    b = rng.choice([0, 0.25, 0.5, 0.75, 1.0], size=350, p=[0.2, 0.15, 0.2, 0.25, 0.2])

    result = welch(len(a), a.sum(), (a * a).sum(), len(b), b.sum(), (b * b).sum())
    expected = scipy_stats.ttest_ind(b, a, equal_var=False)
    interval = expected.confidence_interval(0.95)

    assert result is not None
    assert result.difference == pytest.approx(b.mean() - a.mean(), abs=1e-12)
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-9)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high), abs=1e-9)


def test_welch_needs_two_observations_a_side() -> None:
    assert welch(1, 1.0, 1.0, 5, 2.0, 1.0) is None


def test_hajek_from_sums_equals_the_estimator_on_items() -> None:
    rng = np.random.default_rng(5)
    pi = rng.uniform(0.05, 1.0, size=300)
    y = (rng.uniform(size=300) < 0.3).astype(float)
    w = 1 / pi
    a = (1 - pi) * w * w

    from_sums = hajek_from_sums(300, int(y.sum()), w.sum(), (w * y).sum(), a.sum(), (a * y).sum())
    direct = hajek_proportion(y, pi)

    assert from_sums is not None
    assert from_sums.weighted == pytest.approx(direct.estimate, abs=1e-12)
    assert (from_sums.low, from_sums.high) == pytest.approx(
        (max(0.0, direct.low), min(1.0, direct.high)), abs=1e-9
    )
    assert from_sums.naive == pytest.approx(y.mean(), abs=1e-12)


def test_the_weighted_interval_covers_the_true_rate_in_simulation() -> None:
    """200 seeded populations with a known bad rate; Poisson samples that over-sample bad items."""
    covered = 0
    naive_covered = 0
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        bad = rng.uniform(size=5000) < 0.12
        truth = bad.mean()
        # Bad items are three times as likely to be picked (as flagged or low-rated ones are).
        pi = np.where(bad, 0.15, 0.05)
        taken = rng.uniform(size=5000) < pi
        y, p = bad[taken].astype(float), pi[taken]
        w = 1 / p
        a = (1 - p) * w * w
        estimate = hajek_from_sums(
            len(y), int(y.sum()), w.sum(), (w * y).sum(), a.sum(), (a * y).sum()
        )
        assert estimate is not None
        covered += estimate.low <= truth <= estimate.high
        naive_covered += abs(estimate.naive - truth) < 0.02

    assert covered >= 180
    # The unweighted share among reviewed items is biased: it is rarely near the truth.
    assert naive_covered < 20


def test_benjamini_hochberg_matches_statsmodels() -> None:
    rng = np.random.default_rng(2)
    p_values = list(np.concatenate([rng.uniform(0, 0.01, 5), rng.uniform(0, 1, 45)]))

    expected, *_ = multipletests(p_values, alpha=0.05, method="fdr_bh")

    assert benjamini_hochberg(p_values, q=0.05) == list(expected)
