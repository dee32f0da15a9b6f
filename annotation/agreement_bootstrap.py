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
        # One flat pass over the ratings, then numpy: this runs on hundreds of thousands of them.
        unit_of: list[int] = []
        rated: list[Hashable] = []
        for position, unit in enumerate(units):
            for value in unit.values():
                if value is not None and value == value:
                    unit_of.append(position)
                    rated.append(value)
        domain = list(categories) if categories is not None else sorted(set(rated), key=_sort_key)
        self.level = level
        self.domain = domain
        index = {value: i for i, value in enumerate(domain)}
        size = max(len(domain), 1)
        codes = np.fromiter((index[value] for value in rated), dtype=np.int64, count=len(rated))
        cells = np.asarray(unit_of, dtype=np.int64) * size + codes
        counts = np.bincount(cells, minlength=len(units) * size).reshape(len(units), size)
        counts = counts[counts.sum(axis=1) >= 2].astype(np.float64)
        self.counts = counts
        m = self.counts.sum(axis=1)
        # o_u[c, k] = (n_uc * n_uk - [c == k] n_uc) / (m_u - 1)
        outer = self.counts[:, :, None] * self.counts[:, None, :]
        outer[:, np.arange(size), np.arange(size)] -= self.counts
        self.per_item = (outer / (m - 1)[:, None, None]).reshape(self.items, size * size)
        self.agreeing_share = _agreeing_share(self.counts, m)
        self.values = (
            np.array([float(v) for v in domain], dtype=np.float64)  # type: ignore[arg-type]
            if level in ("interval", "ratio")
            else None
        )

    @property
    def items(self) -> int:
        return int(self.counts.shape[0])

    def fleiss_kappa(self) -> float | None:
        """Fleiss' kappa when every paired item has the same number of ratings, else None."""
        if self.items == 0:
            return None
        per_item = self.counts.sum(axis=1)
        n = per_item[0]
        if not np.all(per_item == n):
            return None
        agreement = ((self.counts**2).sum(axis=1) - n) / (n * (n - 1))
        shares = self.counts.sum(axis=0) / self.counts.sum()
        expected = float((shares**2).sum())
        if expected == 1.0:
            return 1.0
        return (float(agreement.mean()) - expected) / (1.0 - expected)

    def fleiss_bootstrap(
        self, *, n_resamples: int = 500, confidence: float = 0.95, seed: int = 0
    ) -> tuple[float, float]:
        """Percentile interval of Fleiss' kappa over items (every item the same size).

        Resample r draws ``numpy.random.default_rng(seed).integers(0, items, items)`` in
        turn, so ``statsmodels``' ``fleiss_kappa`` on the same resampled tables gives the
        same interval (a test checks it).
        """
        per_item = self.counts.sum(axis=1)
        if self.items == 0 or not np.all(per_item == per_item[0]) or n_resamples < 1:
            return math.nan, math.nan
        n = float(per_item[0])
        agreement = ((self.counts**2).sum(axis=1) - n) / (n * (n - 1))
        rng = np.random.default_rng(seed)
        kappas = np.empty(n_resamples)
        block = 64
        for start in range(0, n_resamples, block):
            rows = min(block, n_resamples - start)
            weights = np.empty((rows, self.items))
            for row in range(rows):
                weights[row] = np.bincount(
                    rng.integers(0, self.items, self.items), minlength=self.items
                )
            totals = weights.sum(axis=1)
            observed = (weights @ agreement) / totals
            shares = (weights @ self.counts) / (totals * n)[:, None]
            expected = (shares**2).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                kappa = np.where(expected >= 1.0, 1.0, (observed - expected) / (1.0 - expected))
            kappas[start : start + rows] = kappa
        return _interval(kappas, (1 - confidence) / 2)

    def alpha(self, weights: FloatArray | None = None) -> float:
        if self.items == 0:
            return math.nan
        summed = self.per_item.sum(axis=0) if weights is None else weights @ self.per_item
        return self._alpha_of(summed)

    def _alpha_of(self, summed: FloatArray) -> float:
        size = len(self.domain)
        coincidence = summed.reshape(size, size)
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
        # Resamples in blocks: one matrix product per block reads the per-item matrices once.
        block = 32
        for start in range(0, n_resamples, block):
            rows = min(block, n_resamples - start)
            weights = np.empty((rows, self.items))
            for row in range(rows):
                weights[row] = np.bincount(
                    rng.integers(0, self.items, self.items), minlength=self.items
                )
            summed = weights @ self.per_item
            shares[start : start + rows] = (weights @ self.agreeing_share) / weights.sum(axis=1)
            for row in range(rows):
                alphas[start + row] = self._alpha_of(summed[row])
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
