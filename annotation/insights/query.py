"""What a metrics request asks for, validated: metric, time range, bucket, slice filters.

Every refusal names the parameter and says what to send instead, so the API answers a 400 and
the dashboards an explained empty state, never a 500 or a misleading number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils.dateparse import parse_datetime

from annotation.models.insights import SLICE_FIELDS

METRICS = (
    "volume",
    "negative_feedback_rate",
    "mean_rating",
    "flag_rate",
    "implicit_negative_rate",
    "reviewed_bad_rate",
)
DIMENSIONS = SLICE_FIELDS
BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_POINTS = 2_000
MAX_FILTER_VALUES = 50
DEFAULT_RANGE = timedelta(days=7)


class InvalidQuery(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Range:
    since: datetime
    until: datetime


@dataclass(frozen=True)
class SliceFilter:
    """Dimension → accepted values (any of them); an empty mapping keeps every slice."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def parse_time(name: str, raw: str | None) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidQuery(
            name, f"{raw!r} is not a date and time; send ISO 8601, e.g. 2026-11-20T10:00:00Z"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 2000 <= moment.year <= 2100:
        raise InvalidQuery(name, f"{raw!r} is out of range; send a time between 2000 and 2100")
    return moment


def parse_range(since: str | None, until: str | None, now: datetime) -> Range:
    end = parse_time("until", until) or now
    start = parse_time("since", since) or end - DEFAULT_RANGE
    if start >= end:
        raise InvalidQuery(
            "since", "`since` must be before `until`; the range is empty or inverted"
        )
    return Range(since=start, until=end)


def parse_metric(raw: str | None) -> str:
    if not raw:
        raise InvalidQuery("metric", f"Send a metric: one of {', '.join(METRICS)}")
    if raw not in METRICS:
        raise InvalidQuery("metric", f"Unknown metric {raw!r}; use one of {', '.join(METRICS)}")
    return raw


def parse_dimension(name: str, raw: str | None, *, required: bool) -> str | None:
    if not raw:
        if required:
            raise InvalidQuery(name, f"Send `{name}`: one of {', '.join(DIMENSIONS)}")
        return None
    if raw not in DIMENSIONS:
        raise InvalidQuery(name, f"Unknown dimension {raw!r}; use one of {', '.join(DIMENSIONS)}")
    return raw


def parse_bucket(raw: str | None, window: Range) -> str:
    bucket = raw or "hour"
    if bucket not in BUCKETS:
        raise InvalidQuery("bucket", f"Unknown bucket {bucket!r}; use hour or day")
    points = (window.until - window.since) / BUCKETS[bucket]
    if points > MAX_POINTS:
        raise InvalidQuery(
            "bucket",
            f"{int(points):,} {bucket}s is more than {MAX_POINTS:,} points; "
            "use bucket=day or a shorter range",
        )
    return bucket


def parse_filters(params: Mapping[str, Sequence[str]]) -> SliceFilter:
    """`model_version=1.4.0&model_version=1.5.0` or `model_version=1.4.0,1.5.0`, per dimension."""
    values: dict[str, tuple[str, ...]] = {}
    for dimension in DIMENSIONS:
        raw = [part for value in params.get(dimension, ()) for part in value.split(",")]
        if raw:
            if len(raw) > MAX_FILTER_VALUES:
                raise InvalidQuery(dimension, f"At most {MAX_FILTER_VALUES} values per dimension")
            values[dimension] = tuple(dict.fromkeys(raw))
    return SliceFilter(values=values)
