"""The alert pages of a project: its rules and alerts, the rule form, and one alert with its chart.

Leads and engineers read them (annotators get a 403, anyone else a 404); only leads create,
change and delete rules. The form's input goes through the same service as the API, so its
errors are the API's, each shown at the input it names.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.errors import Conflict, Invalid, NotFound
from annotation.forms.alert_rules import AlertRuleForm, initial_of
from annotation.models import Alert, AlertRule, AlertState, Project
from annotation.selectors.access import LEADS, READERS, ProjectAccess
from annotation.selectors.alerts import alert_bound, alert_rules_of, alert_series, alerts_of
from annotation.services.alert_rules import alert_rule_create, alert_rule_delete, alert_rule_update
from annotation.views.access import project_page
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

PAGE = "annotation/alerts/page.html"
FORM = "annotation/alerts/rule_form.html"
DETAIL = "annotation/alerts/alert.html"
LISTED = 100
RATES = ("negative_feedback_rate", "implicit_negative_rate", "flag_rate", "reviewed_bad_rate")


def _partial(request: HtmxHttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def figure_text(metric: str, value: float | None, count: int, ci95: Any = None) -> str:
    """A figure as people read it: value, 95% interval and n."""
    if value is None:
        return f"no data (n = {count:,})"
    if metric == "volume":
        return f"{value:,.1f} interactions per hour (n = {count:,})"
    if metric in RATES:
        text = f"{value:.1%}"
        if ci95:
            text += f" (95% CI {ci95[0]:.1%} to {ci95[1]:.1%})"
    else:
        text = f"{value:.3f}"
        if ci95:
            text += f" (95% CI {ci95[0]:.3f} to {ci95[1]:.3f})"
    return f"{text}, n = {count:,}"


def bound_text(metric: str, value: float | None) -> str:
    if value is None:
        return "none"
    if metric in RATES:
        return f"{value:.1%}"
    return f"{value:,.1f}" if metric == "volume" else f"{value:.3f}"


def condition_text(rule: AlertRule) -> str:
    sign = "<" if rule.direction == "below" else ">"
    if rule.condition_type == "threshold":
        return f"value {sign} {bound_text(rule.metric, rule.condition_value)}"
    if rule.condition_type == "relative_increase":
        change = -rule.condition_value if rule.direction == "below" else rule.condition_value
        return f"{change:+.0%} against the baseline"
    z = -rule.condition_value if rule.direction == "below" else rule.condition_value
    return f"z {sign} {z:g} against the baseline's buckets"


def explorer_url(project: Project, rule: AlertRule, since: datetime, until: datetime) -> str:
    """The explorer with the interactions behind a figure: its time span and the rule's slice."""
    params: list[tuple[str, str]] = [("since", _stamp(since)), ("until", _stamp(until))]
    params += [(dim, ",".join(values)) for dim, values in rule.filters.items()]
    if rule.metric == "negative_feedback_rate":
        params.append(("negative", "1"))
    elif rule.metric == "flag_rate" and rule.check_config is not None:
        params.append(("flagged", rule.check_config.name))
    elif rule.metric == "reviewed_bad_rate":
        params.append(("reviewed_bad", "1"))
    return reverse("insights-explorer", args=[project.name]) + "?" + urlencode(params)


def _project_rule(access: ProjectAccess, rule_id: int) -> AlertRule:
    rule = (
        AlertRule.objects.select_related("project", "check_config")
        .filter(pk=rule_id, project=access.project)
        .first()
    )
    if rule is None:
        raise NotFound(f"No alert rule {rule_id} in {access.project.name}.")
    return rule


@htmx_page
@project_page(READERS)
@require_GET
def alerts_page(request: HtmxHttpRequest, access: ProjectAccess) -> HttpResponse:
    """The project's rules and its newest alerts (`state=firing|resolved` narrows them)."""
    project = access.project
    projects = Project.objects.filter(pk=project.pk)
    state = request.GET.get("state", "")
    if state not in ("", *AlertState.values):
        raise Invalid(
            f"state: {state[:40]!r} is not an alert state; use firing or resolved.",
            details={"state": ["Use firing or resolved."]},
        )
    rules = list(alert_rules_of(projects))
    firing = set(
        Alert.objects.filter(rule__project=project, state=AlertState.FIRING).values_list(
            "rule_id", flat=True
        )
    )
    alerts = list(alerts_of(projects, state=state or None)[:LISTED])
    context = {
        "project": project,
        "is_lead": access.is_lead,
        "state": state,
        "rules": [
            {"rule": rule, "condition": condition_text(rule), "firing": rule.pk in firing}
            for rule in rules
        ],
        "alerts": [
            {
                "alert": alert,
                "figure": figure_text(
                    alert.rule.metric,
                    alert.value,
                    alert.count,
                    [alert.ci_low, alert.ci_high] if alert.ci_low is not None else None,
                ),
                "baseline": bound_text(alert.rule.metric, alert.baseline),
            }
            for alert in alerts
        ],
        "listed": LISTED,
    }
    template = f"{PAGE}#alerts" if _partial(request) else PAGE
    return render(request, template, context)


def _form_page(
    request: HtmxHttpRequest,
    access: ProjectAccess,
    form: AlertRuleForm,
    rule: AlertRule | None,
    status: int = 200,
) -> HttpResponse:
    context = {"project": access.project, "form": form, "rule": rule}
    template = f"{FORM}#form" if _partial(request) else FORM
    return render(request, template, context, status=status)


def _save(
    request: HtmxHttpRequest, access: ProjectAccess, rule: AlertRule | None
) -> HttpResponseBase:
    form = AlertRuleForm(request.POST, project=access.project)
    if form.is_valid():
        try:
            if rule is None:
                rule = alert_rule_create(
                    project=access.project, user=request.user, body=form.body()
                )
            else:
                rule = alert_rule_update(rule=rule, user=request.user, changes=form.body())
        except (Invalid, Conflict) as error:
            form.add_service_errors(error.details)
    if form.errors:
        # 422 to a plain form post; htmx swaps the form in place only on a 200.
        return _form_page(request, access, form, rule, status=200 if _partial(request) else 422)
    target = reverse("lead-alerts", args=[access.project.name])
    if _partial(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


@htmx_page
@project_page(LEADS)
@require_http_methods(["GET", "POST"])
def rule_new(request: HtmxHttpRequest, access: ProjectAccess) -> HttpResponseBase:
    """The form of a new rule; POST creates it."""
    if request.method == "POST":
        return _save(request, access, None)
    return _form_page(request, access, AlertRuleForm(project=access.project), None)


@htmx_page
@project_page(LEADS)
@require_http_methods(["GET", "POST"])
def rule_edit(request: HtmxHttpRequest, access: ProjectAccess, rule_id: int) -> HttpResponseBase:
    """The form of an existing rule; POST changes it."""
    rule = _project_rule(access, rule_id)
    if request.method == "POST":
        return _save(request, access, rule)
    form = AlertRuleForm(project=access.project, initial=initial_of(rule))
    return _form_page(request, access, form, rule)


@htmx_page
@project_page(LEADS)
@require_POST
def rule_delete(request: HtmxHttpRequest, access: ProjectAccess, rule_id: int) -> HttpResponseBase:
    """Delete a rule and its alerts, back to the list."""
    alert_rule_delete(rule=_project_rule(access, rule_id), user=request.user)
    return HttpResponseRedirect(reverse("lead-alerts", args=[access.project.name]))


def _chart(alert: Alert, series: dict[str, Any]) -> dict[str, Any]:
    rule = alert.rule
    points = series["points"]
    x = [int(datetime.fromisoformat(p["t"].replace("Z", "+00:00")).timestamp()) for p in points]
    values = [p["value"] for p in points]
    hrefs = [
        explorer_url(
            rule.project,
            rule,
            datetime.fromisoformat(p["t"].replace("Z", "+00:00")),
            datetime.fromtimestamp(stamp + 3600, tz=UTC),
        )
        if p["count"]
        else ""
        for p, stamp in zip(points, x, strict=True)
    ]
    lines = [
        {"label": rule.get_metric_display(), "values": values, "hrefs": hrefs},
        {
            "label": "The alert's window",
            "values": [p["value"] if p["in_window"] else None for p in points],
            "hrefs": hrefs,
        },
    ]
    if series["bound"] is not None:
        lines.append(
            {"label": "Bound", "values": [series["bound"]] * len(points), "hrefs": [""] * len(x)}
        )
    kind = "count" if rule.metric == "volume" else "rate" if rule.metric in RATES else "mean"
    return {"id": "alert-chart", "kind": kind, "x": x, "series": lines}


@htmx_page
@project_page(READERS)
@require_GET
def alert_detail(request: HtmxHttpRequest, access: ProjectAccess, alert_id: int) -> HttpResponse:
    """One alert: its figures when it fired, the metric by hour around it, its interactions."""
    alert = (
        Alert.objects.select_related("rule", "rule__project", "rule__check_config")
        .filter(pk=alert_id, rule__project=access.project)
        .first()
    )
    if alert is None:
        raise NotFound(f"No alert {alert_id} in {access.project.name}.")
    rule = alert.rule
    series = alert_series(alert, now=timezone.now())
    fired = alert.details.get("fired", {}) if isinstance(alert.details, dict) else {}
    chart = _chart(alert, series)
    rows = [
        {
            "t": point["t"],
            "in_window": point["in_window"],
            "figure": figure_text(rule.metric, point["value"], point["count"], point.get("ci95")),
            "href": href,
        }
        for point, href in zip(
            series["points"], _chart(alert, series)["series"][0]["hrefs"], strict=True
        )
        if point["count"]
    ]
    context = {
        "project": access.project,
        "alert": alert,
        "rule": rule,
        "condition": condition_text(rule),
        "figure": figure_text(
            rule.metric,
            alert.value,
            alert.count,
            [alert.ci_low, alert.ci_high] if alert.ci_low is not None else None,
        ),
        "baseline": bound_text(rule.metric, alert.baseline),
        "bound": bound_text(rule.metric, alert_bound(alert)),
        "fired": fired,
        "explorer": explorer_url(access.project, rule, alert.window_start, alert.window_end),
        "series_url": reverse("api-alert-series", args=[alert.pk]),
        "chart_data": json.dumps({"charts": [chart]}),
        "rows": rows,
        "since": series["since"],
        "until": series["until"],
    }
    return render(request, DETAIL, context)
