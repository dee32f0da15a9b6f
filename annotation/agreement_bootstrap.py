"""Fast bootstrap intervals for Krippendorff's alpha and percent agreement.

Resampling items and recomputing alpha from scratch costs ~0.13 s per resample on 100,000 items;
here each item's coincidence matrix is computed once, and a resample is one weighted sum of them
(a matrix-vector product), about 2 ms. The point estimates agree with the `krippendorff` package
to 1e-9 (tests cross-check them).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt

from annotation.agreement import Level, Units

FloatArray = npt.NDArray[np.float64]


class Coincidences:
    """Per-item coincidence matrices of a set of units over an ordered value domain."""

    def __init__(
        self, units: Units, level: Level = "nominal", categories: Sequence[Hashable] | None = None
    ) -> None:
        present = [[v for v in unit.values() if v is not None and v == v] for unit in units]
        paired = [values for values in present if len(values) >= 2]
        domain = (
            list(categories)
            if categories is not None
            else sorted({v for vs in paired for v in vs}, key=_sort_key)
        )
        self.level = level
        self.domain = domain
        index = {value: i for i, value in enumerate(domain)}
        size = len(domain)
        self.counts = np.zeros((len(paired), size), dtype=np.float64)
        for row, values in enumerate(paired):
            for value in values:
                self.counts[row, index[value]] += 1
        m = self.counts.sum(axis=1)
        # o_u[c, k] = (n_uc * n_uk - [c == k] n_uc) / (m_u - 1)
        outer = self.counts[:, :, None] * self.counts[:, None, :]
        outer[:, np.arange(size), np.arange(size)] -= self.counts
        self.per_item = (outer / (m - 1)[:, None, None]).reshape(len(paired), size * size)
        self.agreeing_share = _agreeing_share(self.counts, m)
        self.values = (
            np.array([float(v) for v in domain], dtype=np.float64)  # type: ignore[arg-type]
            if level in ("interval", "ratio")
            else None
        )

    @property
    def items(self) -> int:
        return int(self.counts.shape[0])

    def alpha(self, weights: FloatArray | None = None) -> float:
        size = len(self.domain)
        if self.items == 0:
            return math.nan
        coincidence = (
            self.per_item.sum(axis=0) if weights is None else weights @ self.per_item
        ).reshape(size, size)
        marginals = coincidence.sum(axis=1)
        total = marginals.sum()
        if total <= 1:
            return math.nan
        delta = self._delta(marginals)
        expected = float(marginals @ delta @ marginals)
        if expected == 0:
            return 1.0
        observed = float((coincidence * delta).sum())
        return 1.0 - (total - 1) * observed / expected

    def percent_agreement(self, weights: FloatArray | None = None) -> float:
        if self.items == 0:
            return math.nan
        if weights is None:
            return float(self.agreeing_share.mean())
        total = weights.sum()
        return float(weights @ self.agreeing_share / total) if total else math.nan

    def bootstrap(
        self, *, n_resamples: int = 500, confidence: float = 0.95, seed: int = 0
    ) -> dict[str, tuple[float, float]]:
        """Percentile intervals over items for alpha and percent agreement."""
        if self.items == 0:
            return {"alpha": (math.nan, math.nan), "percent_agreement": (math.nan, math.nan)}
        rng = np.random.default_rng(seed)
        alphas = np.empty(n_resamples)
        shares = np.empty(n_resamples)
        for r in range(n_resamples):
            weights = np.bincount(
                rng.integers(0, self.items, self.items), minlength=self.items
            ).astype(np.float64)
            alphas[r] = self.alpha(weights)
            shares[r] = self.percent_agreement(weights)
        tail = (1 - confidence) / 2
        return {"alpha": _interval(alphas, tail), "percent_agreement": _interval(shares, tail)}

    def _delta(self, marginals: FloatArray) -> FloatArray:
        size = len(self.domain)
        positions = np.arange(size)
        if self.level == "nominal":
            return (positions[:, None] != positions[None, :]).astype(np.float64)
        if self.level == "ordinal":
            cumulative = np.concatenate([[0.0], np.cumsum(marginals)])
            low = np.minimum(positions[:, None], positions[None, :])
            high = np.maximum(positions[:, None], positions[None, :])
            between = cumulative[high + 1] - cumulative[low]
            delta: FloatArray = (between - (marginals[:, None] + marginals[None, :]) / 2) ** 2
            return delta
        assert self.values is not None
        difference = self.values[:, None] - self.values[None, :]
        if self.level == "interval":
            return difference**2
        total = self.values[:, None] + self.values[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(total == 0, 0.0, difference / total)
        return ratio**2


def _agreeing_share(counts: FloatArray, m: FloatArray) -> FloatArray:
    pairs = m * (m - 1)
    agreeing = (counts * (counts - 1)).sum(axis=1)
    share: FloatArray = agreeing / pairs
    return share


def _interval(estimates: FloatArray, tail: float) -> tuple[float, float]:
    finite = estimates[~np.isnan(estimates)]
    if finite.size == 0:
        return math.nan, math.nan
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high)


def _sort_key(value: Hashable) -> tuple[int, object]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))
