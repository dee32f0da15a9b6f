"""One evaluation tick over rollup rows: firing once, resolving, cooldown, each metric's figures."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from statsmodels.stats.proportion import proportion_confint

from annotation.models import Alert, AlertRule, AlertState, Project
from annotation.services.alerts import alerts_evaluate
from tests.alerts.rollups import NOW, hour, make_rule, put, put_flags, put_reviews
from tests.factories import CheckFactory, QueueFactory

pytestmark = pytest.mark.django_db


def test_it_fires_once_while_the_condition_holds(project: Project) -> None:
    rule = make_rule(project)
    put(project, -1, rated=100, negative=30, interactions=150)
    put(project, 0, rated=50, negative=15, interactions=70)
    first = alerts_evaluate(now=NOW)
    assert len(first.fired) == 1
    again = alerts_evaluate(now=NOW + timedelta(minutes=1))
    assert again.fired == [] and again.resolved == []
    alert = Alert.objects.get()
    assert alert.rule == rule and alert.state == AlertState.FIRING
    assert alert.fired_at == NOW
    assert alert.value == pytest.approx(45 / 150)
    assert alert.count == 150
    low, high = proportion_confint(45, 150, method="wilson")
    assert (alert.ci_low, alert.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert (alert.window_start, alert.window_end) == (hour(-1), NOW)
    assert alert.details["fired"]["holds"] is True


def test_it_resolves_when_the_condition_stops_holding(project: Project) -> None:
    make_rule(project)
    put(project, -1, rated=100, negative=30)
    alerts_evaluate(now=NOW)
    put(project, 0, rated=400, negative=0)
    later = NOW + timedelta(minutes=5)
    result = alerts_evaluate(now=later)
    alert = Alert.objects.get()
    assert result.resolved == [alert.pk]
    assert alert.state == AlertState.RESOLVED and alert.resolved_at == later
    assert alert.details["resolved"]["value"] == pytest.approx(30 / 500)


def test_it_does_not_fire_under_the_minimum_count(project: Project) -> None:
    make_rule(project, min_count=200)
    put(project, -1, rated=100, negative=90)
    assert alerts_evaluate(now=NOW).fired == []
    put(project, 0, rated=100, negative=90)
    assert len(alerts_evaluate(now=NOW).fired) == 1


def test_it_waits_for_the_cooldown_after_a_resolution(project: Project) -> None:
    make_rule(project, cooldown_minutes=30)
    put(project, -1, rated=100, negative=30)
    alerts_evaluate(now=NOW)
    put(project, 0, rated=400, negative=0)
    alerts_evaluate(now=NOW + timedelta(minutes=1))
    put(project, 0, rated=100, negative=60)
    assert alerts_evaluate(now=NOW + timedelta(minutes=20)).fired == []
    assert alerts_evaluate(now=NOW + timedelta(minutes=30)).fired == []
    fired = alerts_evaluate(now=NOW + timedelta(minutes=31)).fired
    assert len(fired) == 1
    assert list(Alert.objects.values_list("state", flat=True).order_by("id")) == [
        "resolved",
        "firing",
    ]


def test_filters_narrow_the_rule_to_its_slice(project: Project) -> None:
    make_rule(project, name="new version", filters={"model_version": ["1.5.0"]})
    put(project, -1, rated=100, negative=90)  # 1.4.0: bad, but not the rule's slice
    put(project, -1, rated=100, negative=10, model_version="1.5.0")
    assert alerts_evaluate(now=NOW).fired == []
    put(project, 0, rated=100, negative=60, model_version="1.5.0")
    fired = alerts_evaluate(now=NOW).fired
    assert Alert.objects.get(pk=fired[0]).value == pytest.approx(70 / 200)


def test_inactive_rules_are_not_evaluated_and_evaluated_ones_are_stamped(project: Project) -> None:
    on = make_rule(project, name="on")
    off = make_rule(project, name="off", active=False)
    put(project, -1, rated=100, negative=90)
    assert alerts_evaluate(now=NOW).rules == 1
    on.refresh_from_db()
    off.refresh_from_db()
    assert on.last_evaluated_at == NOW and off.last_evaluated_at is None
    assert Alert.objects.filter(rule=off).count() == 0


def test_relative_increase_against_the_baseline(project: Project) -> None:
    make_rule(
        project, condition_type="relative_increase", condition_value=0.5, baseline_minutes=180
    )
    for offset in (-4, -3, -2):
        put(project, offset, rated=100, negative=10)
    put(project, -1, rated=100, negative=16)
    put(project, 0, rated=100, negative=14)
    # Window 15%, baseline 10%: +50% is not more than +50%.
    assert alerts_evaluate(now=NOW).fired == []
    put(project, 0, rated=100, negative=15)
    fired = alerts_evaluate(now=NOW).fired
    alert = Alert.objects.get(pk=fired[0])
    assert alert.value == pytest.approx(0.155)
    assert alert.baseline == pytest.approx(0.1)
    assert alert.details["fired"]["relative_change"] == pytest.approx(0.55)


def test_zscore_against_the_baseline_buckets(project: Project) -> None:
    rates = [0.10, 0.12, 0.08, 0.11, 0.09, 0.10]
    for offset, rate in zip(range(-7, -1), rates, strict=True):
        put(project, offset, rated=100, negative=round(rate * 100))
    make_rule(project, condition_type="zscore", condition_value=3, baseline_minutes=360)
    put(project, -1, rated=100, negative=20)
    put(project, 0, rated=100, negative=20)
    fired = alerts_evaluate(now=NOW).fired
    details = Alert.objects.get(pk=fired[0]).details["fired"]
    mean, sd = statistics.mean(rates), statistics.stdev(rates)
    assert details["baseline_mean"] == pytest.approx(mean)
    assert details["baseline_sd"] == pytest.approx(sd)
    assert details["z"] == pytest.approx((0.2 - mean) / sd)


def test_mean_rating_falls_below(project: Project) -> None:
    make_rule(project, metric="mean_rating", condition_value=0.5, direction="below", min_count=4)
    put(project, -1, ratings=4, rating_sum=1.5, rating_sq_sum=1.0)
    alert = Alert.objects.get(pk=alerts_evaluate(now=NOW).fired[0])
    assert alert.value == pytest.approx(1.5 / 4)
    assert alert.count == 4


def test_implicit_negative_rate_is_over_all_interactions(project: Project) -> None:
    make_rule(project, metric="implicit_negative_rate", condition_value=0.1)
    put(project, -1, interactions=200, implicit_negative=30)
    alert = Alert.objects.get(pk=alerts_evaluate(now=NOW).fired[0])
    assert (alert.value, alert.count) == (pytest.approx(0.15), 200)


def test_volume_is_interactions_per_hour(project: Project) -> None:
    make_rule(project, metric="volume", condition_value=100, min_count=0)
    put(project, -1, interactions=90)
    put(project, 0, interactions=50)
    # 140 interactions in the 80 minutes from 09:00 to 10:20.
    alert = Alert.objects.get(pk=alerts_evaluate(now=NOW).fired[0])
    assert alert.value == pytest.approx(140 / (80 / 60))
    assert alert.count == 140


def test_flag_rate_counts_the_check_at_or_above_its_severity(project: Project) -> None:
    check = CheckFactory(project=project, name="emails")
    other = CheckFactory(project=project, name="slurs")
    make_rule(project, metric="flag_rate", check_config=check, min_severity=20, condition_value=0.1)
    put(project, -1, checked=100)
    put_flags(project, -1, check.pk, 10, 50)  # info: below the rule's severity
    put_flags(project, -1, check.pk, 20, 6)
    put_flags(project, -1, other.pk, 30, 40)
    assert alerts_evaluate(now=NOW).fired == []
    put_flags(project, -1, check.pk, 30, 5)
    alert = Alert.objects.get(pk=alerts_evaluate(now=NOW).fired[0])
    assert (alert.value, alert.count) == (pytest.approx(0.11), 100)


def test_reviewed_bad_rate_is_weighted(project: Project) -> None:
    queue = QueueFactory(project=project)
    make_rule(project, metric="reviewed_bad_rate", condition_value=0.3, min_count=3)
    # Three items: inclusion probabilities 0.5 (bad), 0.5 (good), 1.0 (bad).
    put_reviews(
        project, -1, queue.pk, reviewed=3, bad=2, sum_w=5.0, sum_wy=3.0, sum_a=2.0, sum_ay=1.0
    )
    alert = Alert.objects.get(pk=alerts_evaluate(now=NOW).fired[0])
    assert (alert.value, alert.count) == (pytest.approx(3 / 5), 3)


def test_rules_of_other_projects_read_their_own_rollups(
    project: Project, other_keyed_project: object
) -> None:
    other = other_keyed_project.project  # type: ignore[attr-defined]
    make_rule(project)
    make_rule(other)
    put(other, -1, rated=100, negative=90)
    fired = alerts_evaluate(now=NOW).fired
    assert [Alert.objects.get(pk=pk).rule.project for pk in fired] == [other]


def test_a_rule_the_evaluation_cannot_read_does_not_silence_the_others(project: Project) -> None:
    broken = make_rule(project, name="broken")
    # Stored around the validation (an old row, a hand edit): filters that are not lists.
    AlertRule.objects.filter(pk=broken.pk).update(filters={"model_version": 5})
    make_rule(project, name="sound")
    put(project, -1, rated=100, negative=90)
    result = alerts_evaluate(now=NOW)
    assert result.failed == [broken.pk]
    assert [Alert.objects.get(pk=pk).rule.name for pk in result.fired] == ["sound"]
