"""An alert rule's metric over hourly sums, and whether its condition holds.

The sums are the rollups' counters per hour (`Hourly`: one array per counter, hour i at
`start + i hours`), already narrowed to the rule's slice. The figures are the dashboards' (README,
Insights): rates with their Wilson 95% interval, the mean rating with its normal interval, the
reviewed bad rate as the Hájek estimate; `volume` is interactions per hour, so windows and
baseline buckets of different lengths compare.

Conditions (`direction` "above" unless it says "below"; a window with fewer than `min_count`
observations never holds):

- `threshold`: value > v (below: value < v).
- `relative_increase`: value > baseline * (1 + v) (below: value < baseline * (1 - v)), the
  baseline being the metric over the whole baseline span, which needs `min_count` observations too.
- `zscore`: z = (value - mean) / sd > v (below: z < -v), where mean and sd (sample standard
  deviation, n - 1) are those of the metric in each baseline bucket that has data (every bucket
  for volume), at least two of them and `min_count` observations in all; a baseline that never
  varies (sd 0) gives no z and does not hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from annotation.alerts.metrics import METRIC_COUNTERS
from annotation.alerts.windows import HOUR, Spans
from annotation.insights.stats import hajek_from_sums, mean_interval, wilson

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Hourly:
    """Counters per hour from `start`; every array has the same length."""

    start: datetime
    counters: dict[str, Array]

    @property
    def hours(self) -> int:
        return len(next(iter(self.counters.values()))) if self.counters else 0

    def index(self, moment: datetime) -> int:
        return int((moment - self.start) // HOUR)

    def span(self, start: datetime, hours: int) -> dict[str, Array]:
        """The counters of `hours` hours from `start` (zeros outside the arrays)."""
        first = self.index(start)
        out: dict[str, Array] = {}
        for name, values in self.counters.items():
            chunk = np.zeros(hours)
            low, high = max(first, 0), min(first + hours, len(values))
            if high > low:
                chunk[low - first : high - first] = values[low:high]
            out[name] = chunk
        return out


@dataclass(frozen=True)
class Rule:
    metric: str
    condition: str
    value: float
    direction: str = "above"
    min_count: int = 0


def _counter(sums: dict[str, Array], name: str, size: int) -> Array:
    values = sums.get(name)
    return values if values is not None else np.zeros(size)


def metric_values(metric: str, sums: dict[str, Array], hours: Array) -> tuple[Array, Array]:
    """(values, counts) of the metric for each entry of the arrays; NaN where there is no data.

    `hours` is each entry's length in hours (volume is per hour).
    """
    size = len(hours)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "volume":
            count = _counter(sums, "interactions", size)
            return count / hours, count
        if metric == "mean_rating":
            count = _counter(sums, "ratings", size)
            values = np.where(count > 0, _counter(sums, "rating_sum", size) / count, np.nan)
            return values, count
        if metric == "reviewed_bad_rate":
            count = _counter(sums, "reviewed", size)
            weight = _counter(sums, "sum_w", size)
            ok = (count > 0) & (weight > 0)
            return np.where(ok, _counter(sums, "sum_wy", size) / weight, np.nan), count
        numerator, denominator = METRIC_COUNTERS[metric][:2]
        count = _counter(sums, denominator, size)
        values = np.where(count > 0, _counter(sums, numerator, size) / count, np.nan)
        return values, count


def interval(metric: str, sums: dict[str, float]) -> tuple[float, float] | None:
    """The 95% interval shown beside a window's figure (none for volume)."""
    if metric == "volume":
        return None
    if metric == "mean_rating":
        found = mean_interval(
            int(sums.get("ratings", 0)), sums.get("rating_sum", 0.0), sums.get("rating_sq_sum", 0.0)
        )
        return (max(0.0, found[0]), min(1.0, found[1])) if found else None
    if metric == "reviewed_bad_rate":
        share = hajek_from_sums(
            int(sums.get("reviewed", 0)),
            int(sums.get("bad", 0)),
            *(sums.get(name, 0.0) for name in ("sum_w", "sum_wy", "sum_a", "sum_ay")),
        )
        return (share.low, share.high) if share else None
    numerator, denominator = METRIC_COUNTERS[metric][:2]
    n = round(sums.get(denominator, 0))
    # Never more successes than trials, whatever a rollup row holds.
    return wilson(min(round(sums.get(numerator, 0)), n), n)


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


@dataclass
class Evaluation:
    """A rule's figures at one moment and whether its condition holds."""

    holds: bool
    reason: str
    value: float | None
    count: int
    ci95: tuple[float, float] | None
    baseline: float | None
    baseline_count: int
    window_start: datetime
    window_end: datetime
    z: float | None = None
    mean: float | None = None
    sd: float | None = None
    relative_change: float | None = None
    bucket_values: list[float] = field(default_factory=list)

    def details(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "reason": self.reason,
            "value": self.value,
            "count": self.count,
            "ci95": list(self.ci95) if self.ci95 else None,
            "baseline": self.baseline,
            "baseline_count": self.baseline_count,
            "z": self.z,
            "baseline_mean": self.mean,
            "baseline_sd": self.sd,
            "baseline_buckets": len(self.bucket_values),
            "relative_change": self.relative_change,
        }


def _compare(value: float, bound: float, direction: str) -> bool:
    return value < bound if direction == "below" else value > bound


def evaluate(rule: Rule, hourly: Hourly, spans: Spans) -> Evaluation:
    """The rule's window against its condition (module docstring)."""
    window_hours = spans.window_hours
    first = spans.window_start
    hours_in_window = hourly.index(spans.last_hour) - hourly.index(first) + 1
    window = {
        name: float(values.sum()) for name, values in hourly.span(first, hours_in_window).items()
    }
    values, counts = metric_values(
        rule.metric, {k: np.array([v]) for k, v in window.items()}, np.array([window_hours])
    )
    value, count = _number(values[0]), round(float(counts[0]))

    length = spans.bucket_hours
    baseline_hours = spans.buckets * length
    baseline_sums = hourly.span(spans.baseline_start, baseline_hours)
    pooled_values, pooled_counts = metric_values(
        rule.metric,
        {k: np.array([v.sum()]) for k, v in baseline_sums.items()},
        np.array([float(baseline_hours)]),
    )
    baseline, baseline_count = _number(pooled_values[0]), round(float(pooled_counts[0]))
    result = Evaluation(
        holds=False,
        reason="",
        value=value,
        count=count,
        ci95=interval(rule.metric, window),
        baseline=baseline,
        baseline_count=baseline_count,
        window_start=spans.window_start,
        window_end=spans.window_end,
    )
    if baseline not in (None, 0.0) and value is not None:
        result.relative_change = (value - baseline) / abs(baseline)
    if rule.condition == "zscore":
        bucketed = {
            k: v.reshape(spans.buckets, length).sum(axis=1) for k, v in baseline_sums.items()
        }
        bucket_values, _ = metric_values(
            rule.metric, bucketed, np.full(spans.buckets, float(length))
        )
        usable = bucket_values[~np.isnan(bucket_values)]
        result.bucket_values = [float(v) for v in usable]
        if len(usable) >= 2:
            result.mean = float(usable.mean())
            result.sd = float(usable.std(ddof=1))
            # Identical buckets leave a rounding residue, not a spread: treat it as none.
            if result.sd <= 1e-12 * max(1.0, abs(result.mean)):
                result.sd = 0.0
            if result.sd > 0 and value is not None:
                result.z = (value - result.mean) / result.sd

    if value is None or count < rule.min_count:
        result.reason = f"{count} observations in the window; the rule needs {rule.min_count}"
        return result
    if rule.condition == "threshold":
        result.holds = _compare(value, rule.value, rule.direction)
        result.reason = f"value {value:.6g} against threshold {rule.value:g} ({rule.direction})"
        return result
    if baseline is None or baseline_count < rule.min_count:
        result.reason = (
            f"{baseline_count} observations in the baseline; the rule needs {rule.min_count}"
        )
        return result
    if rule.condition == "relative_increase":
        factor = 1 - rule.value if rule.direction == "below" else 1 + rule.value
        bound = baseline * factor
        result.holds = _compare(value, bound, rule.direction)
        result.reason = f"value {value:.6g} against baseline {baseline:.6g} * {factor:g}"
        return result
    if result.z is None:
        result.reason = (
            "the baseline does not vary (standard deviation 0)"
            if len(result.bucket_values) >= 2
            else f"{len(result.bucket_values)} baseline buckets with data; a z-score needs 2"
        )
        return result
    bound = -rule.value if rule.direction == "below" else rule.value
    result.holds = _compare(result.z, bound, rule.direction)
    result.reason = f"z = {result.z:.3f} against {bound:g}"
    return result
