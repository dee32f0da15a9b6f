"""The spans an alert rule reads at a moment, in the rollups' whole hours.

The rollups count by hour, so a window covers every hour it touches: from the start of the hour
`window_minutes` before now, to now (the current hour so far). It holds at least `window_minutes`
of data and at most 59 minutes more. The baseline is the whole hours just before the window,
cut into buckets as long as the window (its minutes rounded up to whole hours), as many as fit in
`baseline_minutes` (rounded up to whole hours), at least one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Spans:
    """Where a rule looks: the window [window_start, window_end) and `buckets` baseline buckets
    of `bucket_hours` hours each, ending at window_start."""

    window_start: datetime
    window_end: datetime
    bucket_hours: int
    buckets: int

    @property
    def baseline_start(self) -> datetime:
        return self.window_start - self.buckets * self.bucket_hours * HOUR

    @property
    def window_hours(self) -> float:
        """The window's length in hours (fractional: the current hour counts so far)."""
        return (self.window_end - self.window_start) / HOUR

    @property
    def last_hour(self) -> datetime:
        """The start of the window's last (current) hour."""
        return floor_hour(self.window_end - timedelta(microseconds=1))


def rule_spans(now: datetime, window_minutes: int, baseline_minutes: int) -> Spans:
    bucket_hours = max(1, math.ceil(window_minutes / 60))
    baseline_hours = max(1, math.ceil(baseline_minutes / 60))
    return Spans(
        window_start=floor_hour(now - timedelta(minutes=window_minutes)),
        window_end=now,
        bucket_hours=bucket_hours,
        buckets=max(1, baseline_hours // bucket_hours),
    )
