"""The rollups an evaluation tick reads, loaded once per project and shared by all its rules.

One query per rollup table and project over the longest span any of its rules needs (window and
baseline); the rows stay as flat arrays (hour, slice, counters), and each rule's hourly sums are
a mask over the slices plus a weighted `bincount` over the hours, computed once per distinct
filter. So 200 rules of a project cost three queries and some vector arithmetic, not 200 scans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import Sum

from annotation.alerts.conditions import Hourly
from annotation.alerts.windows import HOUR
from annotation.models import FlagRollup, ReviewRollup, SliceRollup
from annotation.models.insights import SLICE_FIELDS

SLICE_COUNTERS = (
    "interactions",
    "checked",
    "rated",
    "negative",
    "ratings",
    "rating_sum",
    "rating_sq_sum",
    "implicit_negative",
)
REVIEW_COUNTERS = ("reviewed", "bad", "sum_w", "sum_wy", "sum_a", "sum_ay")
FilterKey = tuple[tuple[str, tuple[str, ...]], ...]


def filter_key(filters: Mapping[str, Sequence[str]]) -> FilterKey:
    """A hashable, order-free form of a rule's slice filters."""
    return tuple(sorted((dim, tuple(sorted(values))) for dim, values in filters.items() if values))


@dataclass
class _Rows:
    hour: npt.NDArray[np.int64]
    slice: npt.NDArray[np.int64]
    counters: dict[str, npt.NDArray[np.float64]]
    extra: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)


@dataclass
class RollupCube:
    """A project's rollup rows from `start`, for `hours` hours, by slice."""

    start: datetime
    hours: int
    slices: list[tuple[str, ...]]
    table: _Rows
    flags: _Rows | None
    reviews: _Rows | None
    _masks: dict[FilterKey, npt.NDArray[np.bool_]] = field(default_factory=dict)
    _sums: dict[tuple[Any, ...], dict[str, npt.NDArray[np.float64]]] = field(default_factory=dict)

    def _mask(self, key: FilterKey) -> npt.NDArray[np.bool_]:
        found = self._masks.get(key)
        if found is None:
            positions = [SLICE_FIELDS.index(dim) for dim, _ in key]
            accepted = [set(values) for _, values in key]
            found = np.fromiter(
                (
                    all(slice_[p] in ok for p, ok in zip(positions, accepted, strict=True))
                    for slice_ in self.slices
                ),
                dtype=np.bool_,
                count=len(self.slices),
            )
            self._masks[key] = found
        return found

    def _bincount(
        self, rows: _Rows, selected: npt.NDArray[np.bool_], names: Iterable[str]
    ) -> dict[str, npt.NDArray[np.float64]]:
        hours = rows.hour[selected]
        return {
            name: np.bincount(
                hours, weights=rows.counters[name][selected], minlength=self.hours
            ).astype(np.float64)
            for name in names
        }

    def hourly(
        self,
        filters: Mapping[str, Sequence[str]],
        *,
        check_id: int | None = None,
        min_severity: int = 0,
        reviews: bool = False,
    ) -> Hourly:
        """Counters per hour of the slice the filters select (flags of one check, reviews)."""
        key = filter_key(filters)
        mask = self._mask(key)
        base = self._sums.get(("slice", key))
        if base is None:
            base = self._bincount(self.table, mask[self.table.slice], SLICE_COUNTERS)
            self._sums[("slice", key)] = base
        counters = dict(base)
        if check_id is not None:
            flag_key = ("flag", key, check_id, min_severity)
            flagged = self._sums.get(flag_key)
            if flagged is None:
                flagged = {"flagged": np.zeros(self.hours)}
                if self.flags is not None:
                    rows = self.flags
                    selected = (
                        mask[rows.slice]
                        & (rows.extra["check"] == check_id)
                        & (rows.extra["severity"] >= min_severity)
                    )
                    flagged = self._bincount(rows, selected, ("flagged",))
                self._sums[flag_key] = flagged
            counters.update(flagged)
        if reviews:
            reviewed = self._sums.get(("review", key))
            if reviewed is None:
                reviewed = {name: np.zeros(self.hours) for name in REVIEW_COUNTERS}
                if self.reviews is not None:
                    reviewed = self._bincount(
                        self.reviews, mask[self.reviews.slice], REVIEW_COUNTERS
                    )
                self._sums[("review", key)] = reviewed
            counters.update(reviewed)
        return Hourly(start=self.start, counters=counters)


class _Slices:
    def __init__(self) -> None:
        self.index: dict[tuple[str, ...], int] = {}

    def of(self, key: tuple[str, ...]) -> int:
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.index)
        return found


def _rows(
    raw: list[tuple[Any, ...]],
    start: datetime,
    slices: _Slices,
    counters: Sequence[str],
    extra: Sequence[str] = (),
) -> _Rows:
    width = len(SLICE_FIELDS)
    hours = np.fromiter(
        (int((row[0] - start) // HOUR) for row in raw), dtype=np.int64, count=len(raw)
    )
    slice_ids = np.fromiter(
        (slices.of(row[1 : 1 + width]) for row in raw), dtype=np.int64, count=len(raw)
    )
    first = 1 + width
    columns = (
        list(zip(*raw, strict=True))
        if raw
        else [() for _ in range(first + len(extra) + len(counters))]
    )
    extra_arrays = {
        name: np.asarray(columns[first + i], dtype=np.int64) for i, name in enumerate(extra)
    }
    first += len(extra)
    counter_arrays = {
        name: np.asarray(columns[first + i], dtype=np.float64) for i, name in enumerate(counters)
    }
    return _Rows(hour=hours, slice=slice_ids, counters=counter_arrays, extra=extra_arrays)


def rollup_cube(
    *,
    project_id: int,
    start: datetime,
    until: datetime,
    check_ids: Iterable[int] = (),
    min_severity: int = 0,
    reviews: bool = False,
) -> RollupCube:
    """Load the project's rollup rows of the hours [start, until) (three queries at most)."""
    hours = max(0, int((until - start) // HOUR))
    slices = _Slices()
    scope = {"project_id": project_id, "hour__gte": start, "hour__lt": until}
    table = _rows(
        list(
            SliceRollup.objects.filter(**scope).values_list("hour", *SLICE_FIELDS, *SLICE_COUNTERS)
        ),
        start,
        slices,
        SLICE_COUNTERS,
    )
    checks = sorted(set(check_ids))
    flags = None
    if checks:
        raw = list(
            FlagRollup.objects.filter(
                **scope, check_config_id__in=checks, severity__gte=min_severity
            ).values_list("hour", *SLICE_FIELDS, "check_config_id", "severity", "flagged")
        )
        flags = _rows(raw, start, slices, ("flagged",), ("check", "severity"))
    review_rows = None
    if reviews:
        raw = list(
            ReviewRollup.objects.filter(**scope)
            .values_list("hour", *SLICE_FIELDS)
            .annotate(**{name: Sum(name) for name in REVIEW_COUNTERS})
            .order_by()
        )
        review_rows = _rows(raw, start, slices, REVIEW_COUNTERS)
    return RollupCube(
        start=start,
        hours=hours,
        slices=list(slices.index),
        table=table,
        flags=flags,
        reviews=review_rows,
    )
