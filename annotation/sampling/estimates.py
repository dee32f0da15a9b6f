"""Design-based estimates from reviewed queue items, weighted by their inclusion probabilities.

A queue's items are a probability sample of its candidates: item i was taken with probability
π_i (`QueueItem.inclusion_probability`, README "Inclusion probability"). A share such as the
bad-output rate is estimated by the Hájek (ratio) estimator

    p̂ = Σ w_i y_i / Σ w_i,   w_i = 1 / π_i,

with its variance by linearisation: the residuals z_i = w_i (y_i - p̂) / N̂, N̂ = Σ w_i, are
summed as a Horvitz-Thompson total under Poisson sampling,

    v(p̂) = Σ (1 - π_i) z_i²,

so items taken with certainty (π = 1) add no variance. Within a stratum subsampled to a fixed
size this slightly overstates the variance (it ignores that the size was fixed), which errs on
the side of wider intervals. `with_replacement=True` gives the with-replacement (sandwich) form
n / (n - 1) · Σ z_i² instead, the HC1 variance of a weighted least-squares mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class RatioEstimate:
    """A weighted share with its confidence interval and the counts it rests on."""

    n: int
    estimate: float
    standard_error: float
    low: float
    high: float
    # Σ 1/π: the estimated number of candidates the items stand for.
    population: float
    level: float


def hajek_proportion(
    outcomes: Sequence[float] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    with_replacement: bool = False,
) -> RatioEstimate:
    """The inverse-probability-weighted share of `outcomes` (1 = has the property, 0 = not).

    Raises ValueError on empty or mismatched input, outcomes outside [0, 1] or probabilities
    outside (0, 1].
    """
    y = np.asarray(outcomes, dtype=float)
    pi = np.asarray(probabilities, dtype=float)
    if y.ndim != 1 or y.shape != pi.shape:
        raise ValueError("outcomes and probabilities must be two lists of the same length")
    n = int(y.size)
    if n == 0:
        raise ValueError("no reviewed items to estimate from")
    if not np.all((y >= 0) & (y <= 1)):
        raise ValueError("outcomes must lie in [0, 1]")
    if not np.all((pi > 0) & (pi <= 1)):
        raise ValueError("inclusion probabilities must lie in (0, 1]")
    if not 0 < level < 1:
        raise ValueError("level must lie in (0, 1)")
    w = 1.0 / pi
    population = float(w.sum())
    estimate = float((w * y).sum() / population)
    z = w * (y - estimate) / population
    if with_replacement:
        variance = float(n / (n - 1) * (z**2).sum()) if n > 1 else float("nan")
    else:
        variance = float(((1.0 - pi) * z**2).sum())
    se = variance**0.5
    half = NormalDist().inv_cdf(0.5 + level / 2) * se
    return RatioEstimate(
        n=n,
        estimate=estimate,
        standard_error=se,
        low=max(0.0, estimate - half),
        high=min(1.0, estimate + half),
        population=population,
        level=level,
    )
