"""Time krippendorff_alpha on 100,000 items x 3 annotators (nominal).

Compares our API (which builds the annotators x items matrix from the list of mappings)
with calling ``krippendorff.alpha`` directly on the prebuilt matrix.

Run from the repository root: ``.venv/bin/python bench/agreement_metrics.py``
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import krippendorff
import numpy as np

N_UNITS = 100_000
N_RATERS = 3
LABELS = ["helpful", "harmless", "off_topic", "refusal", "wrong"]
REPEATS = 5


def _best_of(func: Callable[[], float], repeats: int = REPEATS) -> tuple[float, float]:
    """Return (result, fastest wall time in seconds) over ``repeats`` calls."""
    best = float("inf")
    result = float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> None:
    # Running the file directly puts bench/ on sys.path, not the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from annotation.agreement import bootstrap_ci, krippendorff_alpha

    rng = np.random.default_rng(0)
    truth = rng.integers(0, len(LABELS), size=N_UNITS)
    noise = rng.integers(0, len(LABELS), size=(N_RATERS, N_UNITS))
    codes = np.where(rng.random((N_RATERS, N_UNITS)) < 0.7, truth, noise)
    matrix = codes.astype(np.float64)
    units = [
        {f"annotator{r}": LABELS[codes[r, j]] for r in range(N_RATERS)} for j in range(N_UNITS)
    ]

    ours, ours_s = _best_of(lambda: krippendorff_alpha(units))
    direct, direct_s = _best_of(
        lambda: float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))
    )
    assert abs(ours - direct) < 1e-9, (ours, direct)

    n_boot = 20
    start = time.perf_counter()
    bootstrap_ci(units, krippendorff_alpha, n_resamples=n_boot)
    boot_s = (time.perf_counter() - start) / n_boot

    print(f"{N_UNITS:,} items x {N_RATERS} annotators, nominal, best of {REPEATS}")
    print(f"  krippendorff_alpha(units)          {ours_s * 1000:8.1f} ms  alpha={ours:.6f}")
    print(f"  krippendorff.alpha(prebuilt matrix) {direct_s * 1000:7.1f} ms  alpha={direct:.6f}")
    print(f"  overhead of building the matrix    {(ours_s - direct_s) * 1000:8.1f} ms")
    print(f"  bootstrap_ci per resample          {boot_s * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
