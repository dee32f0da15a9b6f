"""The metrics and conditions an alert rule may name, and the rollup counters each metric reads.

Plain constants (no numpy), so the web process can validate a rule without loading the
evaluation's arrays.
"""

from __future__ import annotations

METRIC_COUNTERS: dict[str, tuple[str, ...]] = {
    "negative_feedback_rate": ("negative", "rated"),
    "implicit_negative_rate": ("implicit_negative", "interactions"),
    "flag_rate": ("flagged", "checked"),
    "mean_rating": ("rating_sum", "ratings", "rating_sq_sum"),
    "volume": ("interactions",),
    "reviewed_bad_rate": ("reviewed", "bad", "sum_w", "sum_wy", "sum_a", "sum_ay"),
}
RATES = ("negative_feedback_rate", "implicit_negative_rate", "flag_rate", "reviewed_bad_rate")
CONDITIONS = ("threshold", "relative_increase", "zscore")
