"""The statistics shown beside every figure: intervals, tests and the sample size a difference needs.

Pure functions of counts and sums (what the rollups hold), checked against scipy and statsmodels
in tests/insights/test_stats.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


def _z(level: float) -> float:
    return _NORMAL.inv_cdf(0.5 + level / 2)


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; None when n is 0."""
    if n <= 0:
        return None
    z = _z(level)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(
    n: int, total: float, sq_total: float, level: float = 0.95
) -> tuple[float, float] | None:
    """Normal-approximation interval of a mean from n, Σx and Σx² (sample variance, ddof 1).

    The same figures as statsmodels' `DescrStatsW(x).zconfint_mean()`; None below two values.
    """
    if n < 2:
        return None
    mean = total / n
    variance = max(0.0, (sq_total - n * mean * mean) / (n - 1))
    half = _z(level) * math.sqrt(variance / n)
    return mean - half, mean + half


@dataclass(frozen=True)
class Comparison:
    """B against A: the difference b - a, its interval, the test and its p-value."""

    difference: float
    low: float
    high: float
    statistic: float
    p_value: float
    test: str
    required_n: int | None


def _p_two_sided(z: float) -> float:
    return 2 * (1 - _NORMAL.cdf(abs(z)))


def required_n_proportions(
    p_a: float, p_b: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Observations per variant to detect p_a vs p_b (two-sided, Cohen's h); None if equal.

    2·arcsin√p̂ has variance 1/n, so the difference of two has 2/n: n = 2((z_a/2 + z_b) / h)² (z_a/2, z_b: normal quantiles of the level and power).
    """
    h = abs(2 * math.asin(math.sqrt(p_b)) - 2 * math.asin(math.sqrt(p_a)))
    if h == 0:
        return None
    n = 2 * ((_z(1 - alpha) + _NORMAL.inv_cdf(power)) / h) ** 2
    return math.ceil(n)


def two_proportions(
    successes_a: int, n_a: int, successes_b: int, n_b: int, level: float = 0.95
) -> Comparison | None:
    """Two-proportion z-test (pooled variance) and a Wald interval of the difference (unpooled).

    The same figures as statsmodels' `proportions_ztest` and `confint_proportions_2indep(
    method="wald")`. None when a side has no observations.
    """
    if n_a <= 0 or n_b <= 0:
        return None
    p_a, p_b = successes_a / n_a, successes_b / n_b
    difference = p_b - p_a
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se_pooled == 0:
        statistic, p_value = 0.0, 1.0
    else:
        statistic = difference / se_pooled
        p_value = _p_two_sided(statistic)
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half = _z(level) * se
    return Comparison(
        difference=difference,
        low=difference - half,
        high=difference + half,
        statistic=statistic,
        p_value=p_value,
        test="two_proportion_z",
        required_n=required_n_proportions(p_a, p_b),
    )


def welch(
    n_a: int,
    sum_a: float,
    sum_sq_a: float,
    n_b: int,
    sum_b: float,
    sum_sq_b: float,
    level: float = 0.95,
) -> Comparison | None:
    """Welch's t-test of two means from counts, sums and sums of squares.

    The same figures as `scipy.stats.ttest_ind(equal_var=False)`, with the Welch-Satterthwaite
    interval of the difference b - a. None with fewer than two observations on a side.
    """
    if n_a < 2 or n_b < 2:
        return None
    # Imported here: scipy is heavy, and web workers that never compare ratings need not load it.
    from scipy.stats import t as student_t

    mean_a, mean_b = sum_a / n_a, sum_b / n_b
    var_a = max(0.0, (sum_sq_a - n_a * mean_a * mean_a) / (n_a - 1))
    var_b = max(0.0, (sum_sq_b - n_b * mean_b * mean_b) / (n_b - 1))
    se2 = var_a / n_a + var_b / n_b
    difference = mean_b - mean_a
    if se2 == 0:
        return Comparison(difference, difference, difference, 0.0, 1.0, "welch_t", None)
    df = se2 * se2 / ((var_a / n_a) ** 2 / (n_a - 1) + (var_b / n_b) ** 2 / (n_b - 1))
    statistic = difference / math.sqrt(se2)
    p_value = min(1.0, 2 * float(student_t.sf(abs(statistic), df)))
    half = float(student_t.ppf(0.5 + level / 2, df)) * math.sqrt(se2)
    required = None
    if difference != 0:
        # Per variant, for a two-sided test at 5% with 80% power (normal approximation).
        z = _z(0.95) + _NORMAL.inv_cdf(0.8)
        required = math.ceil(z * z * (var_a + var_b) / (difference * difference))
    return Comparison(
        difference=difference,
        low=difference - half,
        high=difference + half,
        statistic=statistic,
        p_value=p_value,
        test="welch_t",
        required_n=required,
    )


@dataclass(frozen=True)
class WeightedShare:
    """A Hájek estimate with its linearised interval, beside the naive share it corrects."""

    n: int
    naive: float
    weighted: float
    low: float
    high: float


def hajek_from_sums(
    n: int, bad: int, sum_w: float, sum_wy: float, sum_a: float, sum_ay: float, level: float = 0.95
) -> WeightedShare | None:
    """The inverse-probability-weighted share from rollup sums.

    p̂ = Σw y / Σw; v(p̂) = Σ (1-π) w² (y - p̂)² / N̂², which with y in {0, 1} is
    ((1 - 2p̂) Σ(1-π)w² y + p̂² Σ(1-π)w²) / N̂² (annotation/sampling/estimates.py, from sums).
    """
    if n <= 0 or sum_w <= 0:
        return None
    p = sum_wy / sum_w
    variance = max(0.0, ((1 - 2 * p) * sum_ay + p * p * sum_a) / (sum_w * sum_w))
    half = _z(level) * math.sqrt(variance)
    return WeightedShare(
        n=n,
        naive=bad / n,
        weighted=p,
        low=max(0.0, p - half),
        high=min(1.0, p + half),
    )


def benjamini_hochberg(p_values: list[float], q: float = 0.05) -> list[bool]:
    """Which hypotheses are rejected at false-discovery rate q (Benjamini-Hochberg step-up)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    cutoff = -1
    for rank, index in enumerate(order, start=1):
        if p_values[index] <= q * rank / m:
            cutoff = rank
    rejected = [False] * m
    for rank, index in enumerate(order, start=1):
        if rank <= cutoff:
            rejected[index] = True
    return rejected
