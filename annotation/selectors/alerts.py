"""Alert rules and alerts as the API, the pages and the webhooks show them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from annotation.alerts.windows import HOUR, floor_hour
from annotation.insights.query import MAX_POINTS, Range, SliceFilter
from annotation.models import Alert, AlertRule, AlertState
from annotation.models.project import Project
from annotation.selectors.metrics import metrics_timeseries

SEVERITY_NAMES = {0: None, 10: "info", 20: "warning", 30: "critical"}


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def alert_rules_of(projects: QuerySet[Project]) -> QuerySet[AlertRule]:
    return (
        AlertRule.objects.filter(project__in=projects)
        .select_related("project", "check_config")
        .prefetch_related("webhooks", "triggers")
        .order_by("project__name", "name")
    )


def alert_rule_data(rule: AlertRule) -> dict[str, Any]:
    """A rule in the shape it is sent (DESIGN §4), with its id and bookkeeping."""
    condition: dict[str, Any] = {"type": rule.condition_type, "value": rule.condition_value}
    condition["direction"] = rule.direction
    return {
        "id": rule.pk,
        "project": rule.project.name,
        "name": rule.name,
        "metric": rule.metric,
        "filters": rule.filters,
        "check": rule.check_config.name if rule.check_config_id and rule.check_config else None,
        "min_severity": SEVERITY_NAMES.get(rule.min_severity),
        "window_minutes": rule.window_minutes,
        "baseline_minutes": rule.baseline_minutes,
        "condition": condition,
        "min_count": rule.min_count,
        "cooldown_minutes": rule.cooldown_minutes,
        "webhooks": sorted(w.pk for w in rule.webhooks.all()),
        "triggers": sorted(t.pk for t in rule.triggers.all()),
        "active": rule.active,
        "created_at": _stamp(rule.created_at),
        "updated_at": _stamp(rule.updated_at),
        "last_evaluated_at": _stamp(rule.last_evaluated_at),
    }


def alerts_of(
    projects: QuerySet[Project],
    *,
    rule_id: int | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Alert]:
    """Alerts of the projects' rules, newest first, narrowed by rule, state and firing time."""
    alerts = Alert.objects.filter(rule__project__in=projects).select_related(
        "rule", "rule__project", "rule__check_config"
    )
    if rule_id is not None:
        alerts = alerts.filter(rule_id=rule_id)
    if state is not None:
        alerts = alerts.filter(state=state)
    if since is not None:
        alerts = alerts.filter(fired_at__gte=since)
    if until is not None:
        alerts = alerts.filter(fired_at__lt=until)
    return alerts.order_by("-fired_at", "-id")


def alert_page_url(alert: Alert) -> str:
    return reverse("lead-alert-detail", args=[alert.rule.project.name, alert.pk])


def alert_data(alert: Alert) -> dict[str, Any]:
    """An alert as the API lists it and webhooks carry it."""
    rule = alert.rule
    interval = (
        [alert.ci_low, alert.ci_high]
        if alert.ci_low is not None and alert.ci_high is not None
        else None
    )
    return {
        "id": alert.pk,
        "project": rule.project.name,
        "rule": rule.name,
        "rule_id": rule.pk,
        "metric": rule.metric,
        "check": rule.check_config.name if rule.check_config_id and rule.check_config else None,
        "filters": rule.filters,
        "condition": {
            "type": rule.condition_type,
            "value": rule.condition_value,
            "direction": rule.direction,
        },
        "state": alert.state,
        "value": alert.value,
        "count": alert.count,
        "ci95": interval,
        "baseline": alert.baseline,
        "window": [_stamp(alert.window_start), _stamp(alert.window_end)],
        "fired_at": _stamp(alert.fired_at),
        "resolved_at": _stamp(alert.resolved_at),
        "details": alert.details,
        "url": settings.PUBLIC_BASE_URL.rstrip("/") + alert_page_url(alert),
    }


def alert_payload(alert: Alert) -> tuple[str, dict[str, Any]]:
    """The event and payload of a webhook delivery; receivers get `{"event", "alert": {...}}`
    (DESIGN §4)."""
    event = "alert.fired" if alert.state == AlertState.FIRING else "alert.resolved"
    return event, {"alert": alert_data(alert)}


def alert_series(alert: Alert, *, now: datetime) -> dict[str, Any]:
    """The rule's metric by hour around the firing: from well before the window to a few hours
    after it resolved (or now), the window's points marked, with the bound the rule compared to.
    The dashboards' figures (`metrics_timeseries`): every point has its count and interval."""
    rule = alert.rule
    before = max(timedelta(hours=24), 2 * (alert.window_end - alert.window_start))
    end = min(now, (alert.resolved_at or now) + timedelta(hours=6))
    until = _ceil_hour(max(end, alert.window_end))
    since = max(floor_hour(alert.window_start - before), until - timedelta(hours=MAX_POINTS - 1))
    figures = metrics_timeseries(
        project=rule.project,
        metric=rule.metric,
        window=Range(since=since, until=until),
        bucket="hour",
        filters=SliceFilter(values={k: tuple(v) for k, v in rule.filters.items()}),
        check=rule.check_config if rule.metric == "flag_rate" else None,
        min_severity=rule.min_severity,
    )
    points = figures["series"][0]["points"] if figures["series"] else []
    window_hours = {
        _stamp(hour) for hour in _hours(floor_hour(alert.window_start), alert.window_end)
    }
    bound = alert_bound(alert)
    return {
        "metric": rule.metric,
        "bucket": "hour",
        "since": _stamp(since),
        "until": _stamp(until),
        "window": [_stamp(alert.window_start), _stamp(alert.window_end)],
        "bound": bound,
        "points": [{**point, "in_window": point["t"] in window_hours} for point in points],
    }


def alert_bound(alert: Alert) -> float | None:
    """The value the window's figure was compared with when it fired (threshold, or the
    baseline moved by the relative change, or mean + z·sd); None without one."""
    rule = alert.rule
    fired = alert.details.get("fired", {}) if isinstance(alert.details, dict) else {}
    below = rule.direction == "below"
    if rule.condition_type == "threshold":
        return rule.condition_value
    if rule.condition_type == "relative_increase" and alert.baseline is not None:
        return alert.baseline * (1 - rule.condition_value if below else 1 + rule.condition_value)
    mean, sd = fired.get("baseline_mean"), fired.get("baseline_sd")
    if rule.condition_type == "zscore" and mean is not None and sd is not None:
        return float(mean) + (-1 if below else 1) * rule.condition_value * float(sd)
    return None


def _ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def _hours(start: datetime, end: datetime) -> list[datetime]:
    hours, moment = [], start
    while moment < end:
        hours.append(moment)
        moment += HOUR
    return hours
