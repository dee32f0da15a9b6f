"""Conditions over crafted hourly series: the figures against hand computation, scipy and
statsmodels."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from annotation.alerts.conditions import Hourly, Rule, evaluate
from annotation.alerts.windows import rule_spans

START = datetime(2026, 11, 1, tzinfo=UTC)


def series(hours: int, **counters: list[float]) -> Hourly:
    arrays = {}
    for name, values in counters.items():
        padded = np.zeros(hours)
        padded[: len(values)] = values
        arrays[name] = padded
    return Hourly(start=START, counters=arrays)


def at(hour: int, minute: int = 0) -> datetime:
    return START + timedelta(hours=hour, minutes=minute)


def test_the_window_covers_every_hour_it_touches_up_to_now() -> None:
    spans = rule_spans(at(10, 20), window_minutes=60, baseline_minutes=1440)
    assert spans.window_start == at(9)
    assert spans.window_end == at(10, 20)
    assert spans.last_hour == at(10)
    assert spans.bucket_hours == 1 and spans.buckets == 24
    assert spans.baseline_start == at(9) - timedelta(hours=24)


def test_on_the_hour_the_window_is_exactly_the_hour_before() -> None:
    spans = rule_spans(at(10), window_minutes=60, baseline_minutes=180)
    assert (spans.window_start, spans.last_hour) == (at(9), at(9))
    assert spans.buckets == 3


def test_long_windows_cut_the_baseline_into_buckets_as_long_as_the_window() -> None:
    spans = rule_spans(at(100, 30), window_minutes=150, baseline_minutes=1440)
    assert spans.bucket_hours == 3
    assert spans.buckets == 8
    assert spans.window_start == at(98)
    assert spans.baseline_start == at(98) - timedelta(hours=24)


def test_threshold_on_the_negative_rate_with_its_wilson_interval() -> None:
    # Hour 9: 30 negative of 100 rated; hour 10 so far: 15 of 50.
    hourly = series(11, negative=[0] * 9 + [30, 15], rated=[0] * 9 + [100, 50])
    rule = Rule("negative_feedback_rate", "threshold", 0.25, min_count=20)
    result = evaluate(rule, hourly, rule_spans(at(10, 20), 60, 1440))
    assert result.holds
    assert result.value == pytest.approx(45 / 150)
    assert result.count == 150
    low, high = proportion_confint(45, 150, alpha=0.05, method="wilson")
    assert result.ci95 == pytest.approx((low, high), abs=1e-12)


def test_threshold_does_not_hold_under_the_minimum_count() -> None:
    hourly = series(11, negative=[0] * 9 + [9, 0], rated=[0] * 9 + [10, 5])
    rule = Rule("negative_feedback_rate", "threshold", 0.25, min_count=20)
    result = evaluate(rule, hourly, rule_spans(at(10, 20), 60, 1440))
    assert result.value == pytest.approx(9 / 15)
    assert not result.holds
    assert "needs 20" in result.reason


def test_threshold_below_for_the_mean_rating_with_its_normal_interval() -> None:
    ratings = np.array([0.0, 0.25, 0.25, 0.5, 0.0, 1.0, 0.25, 0.0])
    hourly = series(
        6,
        ratings=[0] * 5 + [len(ratings)],
        rating_sum=[0] * 5 + [ratings.sum()],
        rating_sq_sum=[0] * 5 + [(ratings**2).sum()],
    )
    rule = Rule("mean_rating", "threshold", 0.5, direction="below", min_count=5)
    result = evaluate(rule, hourly, rule_spans(at(5, 30), 30, 60))
    assert result.holds
    assert result.value == pytest.approx(ratings.mean())
    low, high = DescrStatsW(ratings).zconfint_mean()
    assert result.ci95 == pytest.approx((max(0.0, low), min(1.0, high)), abs=1e-12)


def test_relative_increase_against_the_pooled_baseline() -> None:
    # Baseline: 3 hours of 10 negative out of 100; window: 18 of 100 (+80%).
    hourly = series(4, negative=[10, 10, 10, 18], rated=[100, 100, 100, 100])
    spans = rule_spans(at(3, 59), 60, 180)
    assert spans.window_start == at(2)
    # The window spans hours 2 and 3; the baseline's three hours start before the series (-1, 0, 1).
    result = evaluate(Rule("negative_feedback_rate", "relative_increase", 0.5), hourly, spans)
    assert result.value == pytest.approx(28 / 200)
    assert result.baseline == pytest.approx(20 / 200)
    assert result.relative_change == pytest.approx(0.4)
    assert not result.holds
    result = evaluate(Rule("negative_feedback_rate", "relative_increase", 0.3), hourly, spans)
    assert result.holds


def test_relative_increase_needs_the_minimum_count_in_the_baseline_too() -> None:
    hourly = series(3, negative=[1, 20], rated=[5, 50])
    rule = Rule("negative_feedback_rate", "relative_increase", 0.5, min_count=10)
    result = evaluate(rule, hourly, rule_spans(at(1, 30), 30, 60))
    assert result.value == pytest.approx(0.4)
    assert not result.holds
    assert "baseline" in result.reason


def test_zscore_uses_the_mean_and_sample_deviation_of_the_baseline_buckets() -> None:
    rng = np.random.default_rng(7)
    rated = rng.integers(80, 120, size=25).astype(float)
    negative = np.round(rated * rng.uniform(0.08, 0.14, size=25))
    negative[24] = 40  # the window: hour 24
    hourly = series(25, negative=list(negative), rated=list(rated))
    spans = rule_spans(at(24, 59), 59, 1440)
    assert spans.window_start == at(24) and spans.buckets == 24
    result = evaluate(Rule("negative_feedback_rate", "zscore", 3.0, min_count=20), hourly, spans)
    buckets = negative[:24] / rated[:24]
    value = negative[24] / rated[24]
    expected = (value - stats.tmean(buckets)) / stats.tstd(buckets)
    assert result.mean == pytest.approx(float(np.mean(buckets)), abs=1e-12)
    assert result.sd == pytest.approx(float(stats.tstd(buckets)), abs=1e-12)
    assert result.z == pytest.approx(expected, abs=1e-9)
    assert result.holds and result.z > 3
    # The same z against a higher bar does not fire.
    result = evaluate(Rule("negative_feedback_rate", "zscore", expected + 0.01), hourly, spans)
    assert not result.holds


def test_zscore_buckets_are_as_long_as_the_window() -> None:
    # Two-hour buckets: the volume per hour in each and in the window.
    volume = [100, 120, 90, 110, 100, 100, 300, 310]
    hourly = series(8, interactions=volume)
    spans = rule_spans(at(8), 120, 360)
    assert (spans.bucket_hours, spans.buckets, spans.window_start) == (2, 3, at(6))
    result = evaluate(Rule("volume", "zscore", 2.0), hourly, spans)
    buckets = [(100 + 120) / 2, (90 + 110) / 2, (100 + 100) / 2]
    assert result.bucket_values == pytest.approx(buckets)
    assert result.value == pytest.approx((300 + 310) / 2)
    assert result.z == pytest.approx(
        (result.value - np.mean(buckets)) / np.std(buckets, ddof=1), abs=1e-9
    )
    assert result.holds


def test_zscore_does_not_hold_on_a_baseline_that_never_varies() -> None:
    hourly = series(4, negative=[1, 1, 1, 9], rated=[10, 10, 10, 10])
    result = evaluate(
        Rule("negative_feedback_rate", "zscore", 2.0), hourly, rule_spans(at(3, 30), 30, 180)
    )
    assert result.z is None and result.sd == 0.0
    assert not result.holds
    assert "does not vary" in result.reason


def test_rates_skip_baseline_buckets_without_data() -> None:
    hourly = series(5, negative=[1, 0, 3, 0, 9], rated=[10, 0, 10, 0, 10])
    result = evaluate(
        Rule("negative_feedback_rate", "zscore", 2.0), hourly, rule_spans(at(4, 30), 30, 240)
    )
    assert result.bucket_values == pytest.approx([0.1, 0.3])
    assert result.z == pytest.approx((0.9 - 0.2) / math.sqrt(0.02), abs=1e-9)


def test_volume_is_per_hour_over_the_window_so_far() -> None:
    hourly = series(3, interactions=[0, 600, 300])
    result = evaluate(Rule("volume", "threshold", 500), hourly, rule_spans(at(2, 30), 60, 60))
    # Hours 1 and 2 (half an hour so far): 900 interactions in 1.5 hours.
    assert result.value == pytest.approx(600)
    assert result.count == 900
    assert result.ci95 is None
    assert result.holds


def test_reviewed_bad_rate_is_the_hajek_estimate() -> None:
    pi = np.array([0.1, 0.1, 0.5, 0.5, 1.0])
    y = np.array([1, 0, 1, 0, 0])
    w = 1 / pi
    hourly = series(
        2,
        reviewed=[0, 5],
        bad=[0, 2],
        sum_w=[0, w.sum()],
        sum_wy=[0, (w * y).sum()],
        sum_a=[0, ((1 - pi) * w * w).sum()],
        sum_ay=[0, ((1 - pi) * w * w * y).sum()],
    )
    result = evaluate(
        Rule("reviewed_bad_rate", "threshold", 0.3, min_count=5),
        hourly,
        rule_spans(at(1, 30), 30, 60),
    )
    assert result.value == pytest.approx((w * y).sum() / w.sum())
    assert result.count == 5
    assert result.ci95 is not None and result.ci95[0] < result.value < result.ci95[1]
    assert result.holds


def test_an_interval_never_rests_on_more_successes_than_trials() -> None:
    hourly = series(2, flagged=[0, 12], checked=[0, 10])
    result = evaluate(Rule("flag_rate", "threshold", 0.5), hourly, rule_spans(at(1, 30), 30, 60))
    assert result.ci95 == pytest.approx(proportion_confint(10, 10, method="wilson"))
