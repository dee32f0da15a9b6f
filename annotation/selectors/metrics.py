"""Metrics over the hourly rollups: time series by hour or day, and A/B comparisons.

The same figures feed the dashboards, `GET /api/v1/metrics/*` and the alert rules. Every value
comes with the count it rests on; rates with their Wilson interval.

| metric | value | count |
| --- | --- | --- |
| volume | interactions | interactions |
| negative_feedback_rate | interactions rated ≤ 0.4 or given a negative reason / rated ones | rated interactions |
| mean_rating | mean normalised rating (normal interval) | ratings |
| flag_rate | interactions flagged by `check` (at or above `min_severity`) / checked ones | checked interactions |
| implicit_negative_rate | interactions abandoned, rephrased or regenerated / all | interactions |
| reviewed_bad_rate | Hájek estimate of the bad share from settled reviews | reviewed items |
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour

from annotation.insights.query import BUCKETS, Range, SliceFilter
from annotation.insights.stats import (
    hajek_from_sums,
    mean_interval,
    two_proportions,
    welch,
    wilson,
)
from annotation.models import Check, FlagRollup, Project, ReviewRollup, SliceRollup

_SLICE_SUMS = (
    "interactions",
    "checked",
    "rated",
    "negative",
    "ratings",
    "rating_sum",
    "rating_sq_sum",
    "implicit_negative",
)
_REVIEW_SUMS = ("reviewed", "bad", "sum_w", "sum_wy", "sum_a", "sum_ay")
# Reviews of fewer items than this get a plain warning beside their estimate.
FEW_REVIEWS = 30


def _scope(
    rows: QuerySet[Any], project: Project, window: Range, filters: SliceFilter
) -> QuerySet[Any]:
    rows = rows.filter(project=project, hour__gte=window.since, hour__lt=window.until)
    for dimension, values in filters.values.items():
        rows = rows.filter(**{f"{dimension}__in": values})
    return rows


def metric_value(metric: str, sums: dict[str, Any]) -> dict[str, Any]:
    """{value, count} (and an interval for rates) of one metric from summed rollup counters."""
    if metric == "volume":
        n = int(sums.get("interactions") or 0)
        return {"value": n, "count": n}
    if metric == "mean_rating":
        n = int(sums.get("ratings") or 0)
        interval = mean_interval(
            n, float(sums.get("rating_sum") or 0.0), float(sums.get("rating_sq_sum") or 0.0)
        )
        return {
            "value": sums["rating_sum"] / n if n else None,
            "count": n,
            # Normalised ratings lie in [0, 1]: so does their mean.
            "ci95": [max(0.0, interval[0]), min(1.0, interval[1])] if interval else None,
        }
    if metric == "reviewed_bad_rate":
        estimate = hajek_from_sums(
            int(sums.get("reviewed") or 0),
            int(sums.get("bad") or 0),
            *(float(sums.get(name) or 0.0) for name in ("sum_w", "sum_wy", "sum_a", "sum_ay")),
        )
        if estimate is None:
            return {"value": None, "count": 0, "naive": None, "ci95": None}
        return {
            "value": estimate.weighted,
            "count": estimate.n,
            "naive": estimate.naive,
            "ci95": [estimate.low, estimate.high],
        }
    numerator, denominator = {
        "negative_feedback_rate": ("negative", "rated"),
        "implicit_negative_rate": ("implicit_negative", "interactions"),
        "flag_rate": ("flagged", "checked"),
    }[metric]
    k, n = int(sums.get(numerator) or 0), int(sums.get(denominator) or 0)
    interval = wilson(k, n)
    return {
        "value": k / n if n else None,
        "count": n,
        "ci95": list(interval) if interval else None,
    }


def _trunc(bucket: str) -> Any:
    return TruncHour("hour") if bucket == "hour" else TruncDay("hour")


def _buckets(window: Range, bucket: str) -> list[datetime]:
    step = BUCKETS[bucket]
    start = window.since.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        start = start.replace(hour=0)
    points = []
    while start < window.until:
        points.append(start)
        start += step
    return points


def _flag_counts(
    project: Project,
    window: Range,
    filters: SliceFilter,
    check: Check,
    min_severity: int,
    keys: tuple[str, ...],
    bucket: str,
) -> dict[tuple[Any, ...], int]:
    rows = (
        _scope(FlagRollup.objects.all(), project, window, filters)
        .filter(check_config=check, severity__gte=min_severity)
        .annotate(t=_trunc(bucket))
        .values(*keys)
        .annotate(flagged=Sum("flagged"))
    )
    return {tuple(row[k] for k in keys): int(row["flagged"]) for row in rows}


def metrics_timeseries(
    *,
    project: Project,
    metric: str,
    window: Range,
    bucket: str,
    filters: SliceFilter,
    group_by: str | None = None,
    check: Check | None = None,
    min_severity: int = 0,
    queue_id: int | None = None,
) -> dict[str, Any]:
    """Points of `metric` per bucket (one series per value of `group_by`), empty buckets null."""
    keys = ("t", group_by) if group_by else ("t",)
    if metric == "reviewed_bad_rate":
        source = _scope(ReviewRollup.objects.all(), project, window, filters)
        if queue_id is not None:
            source = source.filter(queue_id=queue_id)
        sums_names: tuple[str, ...] = _REVIEW_SUMS
    else:
        source = _scope(SliceRollup.objects.all(), project, window, filters)
        sums_names = _SLICE_SUMS
    rows = (
        source.annotate(t=_trunc(bucket))
        .values(*keys)
        .annotate(**{name: Sum(name) for name in sums_names})
    )
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {
        tuple(row[k] for k in keys): row for row in rows
    }
    if metric == "flag_rate" and check is not None:
        for key, flagged in _flag_counts(
            project, window, filters, check, min_severity, keys, bucket
        ).items():
            by_key.setdefault(key, {})["flagged"] = flagged
    groups = sorted({key[1] for key in by_key}) if group_by else [None]
    series = []
    for group in groups:
        points = []
        for moment in _buckets(window, bucket):
            key = (moment, group) if group_by else (moment,)
            figure = metric_value(metric, by_key.get(key, {}))
            points.append({"t": moment.isoformat().replace("+00:00", "Z"), **figure})
        series.append({"group": {group_by: group} if group_by else {}, "points": points})
    return {
        "metric": metric,
        "bucket": bucket,
        "since": window.since.isoformat(),
        "until": window.until.isoformat(),
        "series": series,
    }


def _sums_by(
    rows: QuerySet[Any], dimension: str, values: Iterable[str], names: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    found = (
        rows.filter(**{f"{dimension}__in": list(values)})
        .values(dimension)
        .annotate(**{name: Sum(name) for name in names})
    )
    return {row[dimension]: row for row in found}


def _figure(value: dict[str, Any]) -> dict[str, Any]:
    return {k: value[k] for k in ("value", "count", "ci95") if k in value}


def metrics_compare(
    *,
    project: Project,
    dimension: str,
    a: str,
    b: str,
    window: Range,
    filters: SliceFilter,
    queue_id: int | None = None,
) -> dict[str, Any]:
    """Every metric for slice `a` against slice `b` of one dimension, with tests and intervals."""
    base = _scope(SliceRollup.objects.all(), project, window, filters)
    sums = _sums_by(base, dimension, (a, b), _SLICE_SUMS)
    side_a, side_b = sums.get(a, {}), sums.get(b, {})
    metrics: list[dict[str, Any]] = [
        {
            "metric": "volume",
            "a": metric_value("volume", side_a),
            "b": metric_value("volume", side_b),
        }
    ]
    for metric, numerator, denominator in (
        ("negative_feedback_rate", "negative", "rated"),
        ("implicit_negative_rate", "implicit_negative", "interactions"),
    ):
        metrics.append(_proportions(metric, side_a, side_b, numerator, denominator))
    rating = welch(
        int(side_a.get("ratings") or 0),
        float(side_a.get("rating_sum") or 0.0),
        float(side_a.get("rating_sq_sum") or 0.0),
        int(side_b.get("ratings") or 0),
        float(side_b.get("rating_sum") or 0.0),
        float(side_b.get("rating_sq_sum") or 0.0),
    )
    metrics.append(
        {
            "metric": "mean_rating",
            "a": _figure(metric_value("mean_rating", side_a)),
            "b": _figure(metric_value("mean_rating", side_b)),
            **_comparison(rating),
        }
    )
    flagged = (
        _scope(FlagRollup.objects.all(), project, window, filters)
        .filter(**{f"{dimension}__in": [a, b]})
        .values(dimension, "check_config_id", "check_config__name")
        .annotate(flagged=Sum("flagged"))
    )
    per_check: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for row in flagged:
        per_check[(row["check_config_id"], row["check_config__name"])][row[dimension]] = int(
            row["flagged"]
        )
    for (_, name), counts in sorted(per_check.items(), key=lambda item: item[0][1]):
        entry = _proportions(
            "flag_rate",
            {**side_a, "flagged": counts.get(a, 0)},
            {**side_b, "flagged": counts.get(b, 0)},
            "flagged",
            "checked",
        )
        entry["check"] = name
        metrics.append(entry)

    reviews = _scope(ReviewRollup.objects.all(), project, window, filters)
    if queue_id is not None:
        reviews = reviews.filter(queue_id=queue_id)
    review_sums = _sums_by(reviews, dimension, (a, b), _REVIEW_SUMS)
    reviewed = {}
    for name, value in (("a", a), ("b", b)):
        figure = metric_value("reviewed_bad_rate", review_sums.get(value, {}))
        reviewed[name] = {
            "naive": figure["naive"],
            "weighted": figure["value"],
            "ci95": figure["ci95"],
            "n": figure["count"],
        }
        if figure["count"] < FEW_REVIEWS:
            reviewed[name]["warning"] = (
                f"Only {figure['count']} settled reviews: too few for a reliable estimate."
                if figure["count"]
                else "No settled reviews of this slice yet."
            )
    return {
        "dimension": dimension,
        "a": a,
        "b": b,
        "since": window.since.isoformat(),
        "until": window.until.isoformat(),
        "metrics": metrics,
        "reviewed_bad_rate": reviewed,
    }


def _comparison(result: Any) -> dict[str, Any]:
    if result is None:
        return {"difference": None, "ci95": None, "p_value": None, "test": None, "required_n": None}
    return {
        "difference": result.difference,
        "ci95": [result.low, result.high],
        "p_value": result.p_value,
        "test": result.test,
        "required_n": result.required_n,
    }


def _proportions(
    metric: str, side_a: dict[str, Any], side_b: dict[str, Any], numerator: str, denominator: str
) -> dict[str, Any]:
    k_a, n_a = int(side_a.get(numerator) or 0), int(side_a.get(denominator) or 0)
    k_b, n_b = int(side_b.get(numerator) or 0), int(side_b.get(denominator) or 0)
    return {
        "metric": metric,
        "a": _figure(metric_value(metric, {numerator: k_a, denominator: n_a})),
        "b": _figure(metric_value(metric, {numerator: k_b, denominator: n_b})),
        **_comparison(two_proportions(k_a, n_a, k_b, n_b)),
    }


def metrics_filter_q(filters: SliceFilter) -> Q:
    """The same slice filter as a Q over Interaction (the explorer's drill-down)."""
    q = Q()
    for dimension, values in filters.values.items():
        q &= Q(**{f"{dimension}__in": values})
    return q
