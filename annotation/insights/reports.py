"""Prompt-template, retrieval and retraining-signal reports: pure functions of counts.

- Templates: per template and version, the rollup sums turned into rates with intervals.
- Retrieval: per document and per source, how often reviewers judged it irrelevant and the
  negative-feedback rate of the interactions that retrieved it.
- Retraining signal: per reason, its rate in each model version (ordered by first seen); a reason
  is *rising* when its rate went up in each of the last k transitions and the Cochran-Armitage
  test of a linear trend over all versions is significant and positive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from annotation.insights.stats import hajek_from_sums, wilson

RISING_TRANSITIONS = 2
TREND_ALPHA = 0.05
_NORMAL = NormalDist()


def rate(k: int, n: int) -> dict[str, Any]:
    """{value, count, k, ci95}: a share with its Wilson interval; value None when n is 0."""
    interval = wilson(k, n)
    return {
        "value": k / n if n else None,
        "k": k,
        "count": n,
        "ci95": list(interval) if interval else None,
    }


def template_row(
    sums: Mapping[str, Any], flags: Mapping[str, int], review: Mapping[str, Any]
) -> dict[str, Any]:
    """One template version's figures from summed SliceRollup, FlagRollup and ReviewRollup."""
    ratings = int(sums.get("ratings") or 0)
    checked = int(sums.get("checked") or 0)
    estimate = hajek_from_sums(
        int(review.get("reviewed") or 0),
        int(review.get("bad") or 0),
        *(float(review.get(name) or 0.0) for name in ("sum_w", "sum_wy", "sum_a", "sum_ay")),
    )
    return {
        "volume": int(sums.get("interactions") or 0),
        "negative_rate": rate(int(sums.get("negative") or 0), int(sums.get("rated") or 0)),
        "mean_rating": {
            "value": float(sums.get("rating_sum") or 0.0) / ratings if ratings else None,
            "count": ratings,
        },
        "flag_rates": [
            {"check": name, **rate(flagged, checked)} for name, flagged in sorted(flags.items())
        ],
        "reviewed_bad_rate": {
            "naive": estimate.naive,
            "weighted": estimate.weighted,
            "ci95": [estimate.low, estimate.high],
            "n": estimate.n,
        }
        if estimate
        else {"naive": None, "weighted": None, "ci95": None, "n": 0},
    }


@dataclass(frozen=True)
class Trend:
    statistic: float
    p_value: float


def cochran_armitage(successes: Sequence[int], totals: Sequence[int]) -> Trend | None:
    """Cochran-Armitage test of a linear trend in proportions over ordered groups (scores 0..K-1).

    z = Σ t_i (x_i - n_i p̄) / √(p̄(1-p̄)(Σ n_i t_i² - (Σ n_i t_i)² / N)); two-sided p-value.
    None when it is undefined (fewer than two groups with data, or no variation).
    """
    pairs = [(x, n, t) for t, (x, n) in enumerate(zip(successes, totals, strict=True)) if n > 0]
    if len(pairs) < 2:
        return None
    total = sum(n for _, n, _ in pairs)
    p = sum(x for x, _, _ in pairs) / total
    s1 = sum(n * t for _, n, t in pairs)
    s2 = sum(n * t * t for _, n, t in pairs)
    variance = p * (1 - p) * (s2 - s1 * s1 / total)
    if variance <= 0:
        return None
    statistic = sum(t * (x - n * p) for x, n, t in pairs) / math.sqrt(variance)
    return Trend(statistic=statistic, p_value=2 * (1 - _NORMAL.cdf(abs(statistic))))


def reason_signal(
    versions: Sequence[str],
    counts: Sequence[int],
    totals: Sequence[int],
    *,
    transitions: int = RISING_TRANSITIONS,
    alpha: float = TREND_ALPHA,
) -> dict[str, Any]:
    """One reason's rate per version (oldest first), its trend test and whether it is rising."""
    per_version = [
        {"version": v, **rate(k, n)} for v, k, n in zip(versions, counts, totals, strict=True)
    ]
    trend = cochran_armitage(counts, totals)
    rates = [row["value"] for row in per_version if row["value"] is not None]
    increasing = len(rates) > transitions and all(
        later > earlier
        for earlier, later in zip(rates[-transitions - 1 : -1], rates[-transitions:], strict=True)
    )
    rising = bool(
        increasing and trend is not None and trend.statistic > 0 and trend.p_value < alpha
    )
    return {
        "versions": per_version,
        "trend": {"test": "cochran_armitage", "z": trend.statistic, "p_value": trend.p_value}
        if trend
        else None,
        "increased_last": transitions if increasing else 0,
        "rising": rising,
    }
