"""The rollups an evaluation tick reads, loaded once per project and shared by all its rules.

One query per rollup table and project over the longest span any of its rules needs (window and
baseline), summed in SQL by hour (as an integer index) and by the dimensions the project's rules
filter on, nothing else; the rows stay as flat arrays (hour, slice, counters), and each rule's
hourly sums are a mask over the slices plus a weighted `bincount` over the hours, computed once per
distinct filter. So 200 rules of a project cost three queries and some vector arithmetic, not 200
scans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection
from django.db.models import Func, IntegerField, QuerySet, Sum

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


class HourIndex(Func):
    """Whole hours from `start` to the row's hour, computed by the database (an integer is far
    cheaper to read back than a timestamp)."""

    output_field = IntegerField()

    def __init__(self, expression: str, start: datetime) -> None:
        super().__init__(expression, output_field=IntegerField())
        # An integer of our own making, not input: safe to write into the SQL.
        self.start_epoch = int(start.timestamp())

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            f"CAST(FLOOR((EXTRACT(EPOCH FROM %(expressions)s) - {self.start_epoch}) / 3600) "
            "AS integer)"
        )
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            f"((CAST(strftime('%%%%s', %(expressions)s) AS integer) - {self.start_epoch}) / 3600)"
        )
        return super().as_sql(compiler, connection, template=template, **extra)


def filter_key(filters: Mapping[str, Sequence[str]]) -> FilterKey:
    """A hashable, order-free form of a rule's slice filters."""
    return tuple(sorted((dim, tuple(sorted(values))) for dim, values in filters.items() if values))


@dataclass
class _Rows:
    """One table's rows: hour index, slice index (into `slices`), counters."""

    slices: list[tuple[str, ...]]
    hour: npt.NDArray[np.int64]
    slice: npt.NDArray[np.int64]
    counters: dict[str, npt.NDArray[np.float64]]
    extra: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    masks: dict[FilterKey, npt.NDArray[np.bool_]] = field(default_factory=dict)

    def rows_of(self, key: FilterKey, dims: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which rows belong to the slice the filter selects."""
        found = self.masks.get(key)
        if found is None:
            positions = [dims.index(dim) for dim, _ in key]
            accepted = [set(values) for _, values in key]
            by_slice = np.fromiter(
                (
                    all(slice_[p] in ok for p, ok in zip(positions, accepted, strict=True))
                    for slice_ in self.slices
                ),
                dtype=np.bool_,
                count=len(self.slices),
            )
            found = by_slice[self.slice] if len(self.slice) else np.zeros(0, dtype=np.bool_)
            self.masks[key] = found
        return found


@dataclass
class RollupCube:
    """A project's rollups from `start`, for `hours` hours, by the slice dimensions `dims`."""

    start: datetime
    hours: int
    dims: tuple[str, ...]
    table: _Rows
    flags: _Rows | None
    reviews: _Rows | None
    _sums: dict[tuple[Any, ...], dict[str, npt.NDArray[np.float64]]] = field(default_factory=dict)

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
        base = self._sums.get(("slice", key))
        if base is None:
            base = self._bincount(self.table, self.table.rows_of(key, self.dims), SLICE_COUNTERS)
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
                        rows.rows_of(key, self.dims)
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
                        self.reviews, self.reviews.rows_of(key, self.dims), REVIEW_COUNTERS
                    )
                self._sums[("review", key)] = reviewed
            counters.update(reviewed)
        return Hourly(start=self.start, counters=counters)


def _load(
    rows: QuerySet[Any],
    start: datetime,
    dims: tuple[str, ...],
    counters: Sequence[str],
    extra: Sequence[str] = (),
) -> _Rows:
    """Sum the rows by hour index, `dims` and `extra` in SQL; read them back as arrays."""
    summed = (
        rows.annotate(h=HourIndex("hour", start))
        .values("h", *dims, *extra)
        .annotate(**{f"sum_{name}": Sum(name) for name in counters})
        .order_by()
        .values_list("h", *dims, *extra, *(f"sum_{name}" for name in counters))
    )
    # Read with a plain cursor: the values are plain numbers and text, and skipping the ORM's
    # per-row converters is most of the cost at tens of thousands of rows.
    sql, params = summed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchall()
    index: dict[tuple[str, ...], int] = {}
    width = len(dims)
    slice_ids = [index.setdefault(tuple(row[1 : 1 + width]), len(index)) for row in raw]
    columns = (
        list(zip(*raw, strict=True)) if raw else [()] * (1 + width + len(extra) + len(counters))
    )
    first = 1 + width
    return _Rows(
        slices=list(index),
        hour=np.asarray(columns[0], dtype=np.int64),
        slice=np.asarray(slice_ids, dtype=np.int64),
        extra={
            name: np.asarray(columns[first + i], dtype=np.int64) for i, name in enumerate(extra)
        },
        counters={
            name: np.asarray(columns[first + len(extra) + i], dtype=np.float64)
            for i, name in enumerate(counters)
        },
    )


def rollup_cube(
    *,
    project_id: int,
    start: datetime,
    until: datetime,
    dims: Iterable[str] = (),
    check_ids: Iterable[int] = (),
    min_severity: int = 0,
    reviews: bool = False,
) -> RollupCube:
    """Load the project's rollups of the hours [start, until), summed over every dimension but
    `dims` (those the rules filter on): three queries at most."""
    hours = max(0, int((until - start) // HOUR))
    dims = tuple(dim for dim in SLICE_FIELDS if dim in set(dims))
    scope = {"project_id": project_id, "hour__gte": start, "hour__lt": until}
    table = _load(SliceRollup.objects.filter(**scope), start, dims, SLICE_COUNTERS)
    checks = sorted(set(check_ids))
    flags = None
    if checks:
        flags = _load(
            FlagRollup.objects.filter(
                **scope, check_config_id__in=checks, severity__gte=min_severity
            ),
            start,
            dims,
            ("flagged",),
            ("check_config_id", "severity"),
        )
        flags.extra["check"] = flags.extra.pop("check_config_id")
    review_rows = None
    if reviews:
        review_rows = _load(ReviewRollup.objects.filter(**scope), start, dims, REVIEW_COUNTERS)
    return RollupCube(
        start=start, hours=hours, dims=dims, table=table, flags=flags, reviews=review_rows
    )
