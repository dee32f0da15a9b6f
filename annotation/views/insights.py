"""The insights dashboards: a project's overview and the comparison of two variants.

Leads and engineers of the project read them (annotators get a 403, anyone else a 404). Every
figure comes from the hourly rollups through `metrics_timeseries` and `metrics_compare`, the
same figures as `GET /api/v1/metrics/*`, and every point, bar and row links to the interactions
behind it in the explorer. A bad parameter is explained in place of the charts, never a 500.
Each page answers as a full page or, to htmx, as the part its filters swap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from annotation.insights.query import (
    BUCKETS,
    DIMENSIONS,
    InvalidQuery,
    Range,
    SliceFilter,
    parse_bucket,
    parse_dimension,
    parse_filters,
    parse_range,
)
from annotation.models import Check, Project
from annotation.selectors.access import READERS, project_access
from annotation.selectors.dashboard import (
    dashboard_checks,
    dashboard_choices,
    insights_projects,
    reviewed_quality,
)
from annotation.selectors.metrics import FEW_REVIEWS, metrics_compare, metrics_timeseries
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

OVERVIEW = "annotation/insights/overview.html"
COMPARE = "annotation/insights/compare.html"
PRESETS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
PRESET_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DIMENSION_LABELS = {
    "model": "Model",
    "model_version": "Model version",
    "prompt_template": "Prompt template",
    "prompt_template_version": "Template version",
    "experiment": "Experiment",
    "variant": "Variant",
}
METRIC_TITLES = {
    "volume": "Volume",
    "negative_feedback_rate": "Negative-feedback rate",
    "mean_rating": "Mean normalised rating",
    "flag_rate": "Flag rate",
    "implicit_negative_rate": "Implicit-negative rate",
    "reviewed_bad_rate": "Reviewed bad rate (weighted)",
}
METRIC_HELP = {
    "volume": "Interactions per bucket.",
    "negative_feedback_rate": "Rated interactions rated ≤ 0.4 or given a negative reason; "
    "n is the rated interactions.",
    "mean_rating": "Mean of normalised ratings (0 to 1); n is the ratings.",
    "flag_rate": "Checked interactions this check flagged; n is the checked interactions.",
    "implicit_negative_rate": "Interactions abandoned, rephrased or regenerated; "
    "n is the interactions.",
    "reviewed_bad_rate": "Hájek estimate of the true bad share from settled reviews, weighted "
    "by inclusion probability; n is the reviewed items.",
}


# -- access and parameters -------------------------------------------------------------------------


def insights_project(request: HtmxHttpRequest, name: str) -> Project:
    """The project if the user leads or engineers it: 404 for non-members, 403 for annotators."""
    return project_access(request.user, name, READERS).project


def _partial(request: HtmxHttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def parse_window(query: QueryDict, now: datetime) -> tuple[str, Range]:
    """The preset (24h, 7d, 30d) or custom range, widened to whole hours as the rollups count."""
    since, until = query.get("since", "").strip(), query.get("until", "").strip()
    preset = query.get("range", "").strip() or ("custom" if since or until else "7d")
    if preset == "custom":
        window = parse_range(since or None, until or None, now)
    elif preset in PRESETS:
        end = _ceil_hour(now)
        window = Range(since=end - PRESETS[preset], until=end)
    else:
        raise InvalidQuery("range", f"Unknown range {preset[:40]!r}; use 24h, 7d, 30d or custom")
    return preset, Range(since=_floor_hour(window.since), until=_ceil_hour(window.until))


def parse_slice(query: QueryDict, choices: Mapping[str, Sequence[str]]) -> SliceFilter:
    """Filters per dimension (empty form fields filter nothing); a value the project has no
    interaction with in the range is refused, naming it, rather than showing an empty chart."""
    filters = parse_filters(
        {dim: [v for v in query.getlist(dim) if v.strip()] for dim in DIMENSIONS}
    )
    for dimension, values in filters.values.items():
        for value in values:
            if value not in choices.get(dimension, ()):
                raise InvalidQuery(
                    dimension,
                    f"No interaction in this range has {dimension} {value[:80]!r}; "
                    "choose one of the values offered or widen the range",
                )
    return filters


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def explorer_href(
    project: Project,
    since: datetime,
    until: datetime,
    filters: SliceFilter,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """The explorer's URL for a time span and slice (README "Interaction explorer")."""
    params = [("since", _stamp(since)), ("until", _stamp(until))]
    params += [(dim, ",".join(values)) for dim, values in filters.values.items()]
    params += list(extra)
    return reverse("insights-explorer", args=[project.name]) + "?" + urlencode(params)


def _metric_extra(metric: str, check: Check | None) -> list[tuple[str, str]]:
    if metric == "negative_feedback_rate":
        return [("negative", "1")]
    if metric == "flag_rate" and check is not None:
        return [("flagged", check.name)]
    if metric == "reviewed_bad_rate":
        return [("reviewed_bad", "1")]
    return []


def _narrowed(filters: SliceFilter, dimension: str | None, value: str | None) -> SliceFilter:
    if dimension is None or value is None:
        return filters
    return SliceFilter(values={**filters.values, dimension: (value,)})


def describe(metric: str, figure: Mapping[str, Any]) -> str:
    """A figure as people read it: value, 95% interval and n."""
    value, count = figure.get("value"), figure.get("count") or 0
    if value is None:
        return f"no data (n = {count:,})"
    if metric == "volume":
        return f"{int(value):,} interactions"
    interval = figure.get("ci95")
    if metric == "mean_rating":
        text = f"{value:.3f}"
        if interval:
            text += f" (95% CI {interval[0]:.3f} to {interval[1]:.3f})"
        return f"{text}, n = {count:,}"
    text = f"{value:.1%}"
    if interval:
        text += f" (95% CI {interval[0]:.1%} to {interval[1]:.1%})"
    return f"{text}, n = {count:,}"


def _window_text(window: Range) -> dict[str, str]:
    return {"since_text": _stamp(window.since), "until_text": _stamp(window.until)}


def _choice_fields(
    request: HtmxHttpRequest, choices: Mapping[str, Sequence[str]]
) -> list[tuple[str, str, Sequence[str], str]]:
    """(dimension, label, values offered, value chosen) for each filter select."""
    return [
        (dim, DIMENSION_LABELS[dim], choices[dim], request.GET.get(dim, "")) for dim in DIMENSIONS
    ]


# -- the overview ----------------------------------------------------------------------------------


@dataclass
class Chart:
    key: str
    metric: str
    title: str
    help: str
    rows: list[dict[str, Any]]
    data: dict[str, Any]


def _chart(
    *,
    project: Project,
    metric: str,
    window: Range,
    bucket: str,
    filters: SliceFilter,
    group_by: str | None,
    check: Check | None = None,
) -> Chart:
    series = metrics_timeseries(
        project=project,
        metric=metric,
        window=window,
        bucket=bucket,
        filters=filters,
        group_by=group_by,
        check=check,
    )["series"]
    step = BUCKETS[bucket]
    extra = _metric_extra(metric, check)
    rows: list[dict[str, Any]] = []
    js_series: list[dict[str, Any]] = []
    xs: list[int] = []
    for index, entry in enumerate(series):
        group = entry["group"].get(group_by) if group_by else None
        label = (group or "(none)") if group_by else METRIC_TITLES[metric]
        values, hrefs = [], []
        for point in entry["points"]:
            start = datetime.fromisoformat(point["t"])
            since, until = max(start, window.since), min(start + step, window.until)
            if index == 0:
                xs.append(int(start.timestamp()))
            # The explorer cannot select an empty slice value: such points get no link.
            href = (
                explorer_href(project, since, until, _narrowed(filters, group_by, group), extra)
                if not (group_by and group == "")
                else ""
            )
            values.append(point["value"])
            hrefs.append(href)
            if point["count"]:
                rows.append(
                    {
                        "since": since,
                        "until": until,
                        "group": label if group_by else "",
                        "text": describe(metric, point),
                        "count": point["count"],
                        "href": href,
                    }
                )
        js_series.append({"label": label, "values": values, "hrefs": hrefs})
    key = f"{metric}-{check.pk}" if check is not None else metric
    title = f"{METRIC_TITLES[metric]}: {check.name}" if check is not None else METRIC_TITLES[metric]
    kind = "count" if metric == "volume" else "mean" if metric == "mean_rating" else "rate"
    rows.sort(key=lambda row: (row["since"], row["group"]))
    return Chart(
        key=key,
        metric=metric,
        title=title,
        help=METRIC_HELP[metric],
        rows=rows,
        data={"id": f"chart-{key}", "title": title, "kind": kind, "x": xs, "series": js_series},
    )


def _base_context(request: HtmxHttpRequest, project: Project) -> dict[str, Any]:
    form = {key: request.GET.get(key, "") for key in request.GET}
    return {
        "project": project,
        "form": form,
        "presets": PRESET_LABELS,
        "dimensions": [(dim, DIMENSION_LABELS[dim]) for dim in DIMENSIONS],
        "few_reviews": FEW_REVIEWS,
        # The other projects the user reads: the header's Insights link opens only the first.
        "other_projects": [
            other.name for other in insights_projects(request.user) if other.pk != project.pk
        ],
    }


@htmx_page
@login_required
@require_GET
def overview(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Volume, feedback, flag and review rates over time, filtered and broken down by slice."""
    project = insights_project(request, name)
    context = _base_context(request, project)
    status = 200
    try:
        preset, window = parse_window(request.GET, timezone.now())
        context.update(preset=preset, window=window, **_window_text(window))
        choices = dashboard_choices(project, window)
        context["choices"] = _choice_fields(request, choices)
        span = window.until - window.since
        bucket = parse_bucket(
            request.GET.get("bucket") or ("hour" if span <= timedelta(days=2) else "day"), window
        )
        group_by = parse_dimension("by", request.GET.get("by"), required=False)
        filters = parse_slice(request.GET, choices)
    except InvalidQuery as problem:
        context["problem"] = problem
        status = 200 if request.htmx else 400
    else:
        checks = dashboard_checks(project)
        charts = [
            _chart(
                project=project,
                metric=metric,
                window=window,
                bucket=bucket,
                filters=filters,
                group_by=group_by,
            )
            for metric in (
                "volume",
                "negative_feedback_rate",
                "mean_rating",
                "implicit_negative_rate",
                "reviewed_bad_rate",
            )
        ]
        charts[4:4] = [
            _chart(
                project=project,
                metric="flag_rate",
                window=window,
                bucket=bucket,
                filters=filters,
                group_by=group_by,
                check=check,
            )
            for check in checks
        ]
        quality_by = group_by or "model_version"
        quality = reviewed_quality(
            project=project, window=window, filters=filters, dimension=quality_by
        )
        for entry in quality:
            entry["href"] = (
                explorer_href(
                    project,
                    window.since,
                    window.until,
                    _narrowed(filters, quality_by, entry["value"]),
                    [("reviewed_bad", "1")],
                )
                if entry["value"] != ""
                else ""
            )
        context.update(
            bucket=bucket,
            group_by=group_by,
            group_label=DIMENSION_LABELS[group_by] if group_by else "",
            filters=filters,
            charts=charts,
            empty=not any(chart.rows for chart in charts[:1]),
            quality=quality,
            quality_by=quality_by,
            quality_label=DIMENSION_LABELS[quality_by],
            # A data attribute, not a <script type="application/json">: htmx drops script
            # elements from what it swaps in (allowScriptTags is off).
            chart_data=json.dumps({"charts": [chart.data for chart in charts]}),
            compare_url=reverse("insights-compare", args=[project.name])
            + "?"
            + urlencode(
                [("dimension", quality_by), ("range", preset)]
                + (
                    [("since", _stamp(window.since)), ("until", _stamp(window.until))]
                    if preset == "custom"
                    else []
                )
            ),
            explorer_all=explorer_href(project, window.since, window.until, filters),
        )
    template = f"{OVERVIEW}#dashboard" if _partial(request) else OVERVIEW
    return render(request, template, context, status=status)


# -- compare ---------------------------------------------------------------------------------------


@htmx_page
@login_required
@require_GET
def compare(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Two variants of one dimension side by side: every metric, the difference with its
    interval, the test and its p-value, the n a difference needs, and each one's reviewed quality."""
    project = insights_project(request, name)
    context = _base_context(request, project)
    status = 200
    try:
        preset, window = parse_window(request.GET, timezone.now())
        context.update(preset=preset, window=window, **_window_text(window))
        choices = dashboard_choices(project, window)
        dimension = (
            parse_dimension(
                "dimension", request.GET.get("dimension") or "model_version", required=True
            )
            or "model_version"
        )
        context.update(
            dimension=dimension,
            dimension_label=DIMENSION_LABELS[dimension],
            values=choices[dimension],
            choices=_choice_fields(request, choices),
        )
        filters = parse_slice(request.GET, choices)
        a, b = request.GET.get("a", "").strip(), request.GET.get("b", "").strip()
        for side, value in (("a", a), ("b", b)):
            if value and value not in choices[dimension]:
                raise InvalidQuery(
                    side,
                    f"No interaction in this range has {dimension} {value[:80]!r}; "
                    "choose one of the values offered or widen the range",
                )
    except InvalidQuery as problem:
        context["problem"] = problem
        status = 200 if request.htmx else 400
    else:
        if not a or not b:
            context["empty"] = (
                f"Choose two values of {DIMENSION_LABELS[dimension].lower()} to compare, "
                "A (the baseline) and B."
            )
        elif a == b:
            context["empty"] = (
                f"A and B are both {a!r}: a variant compared with itself has no difference. "
                "Choose two different values."
            )
        else:
            result = metrics_compare(
                project=project, dimension=dimension, a=a, b=b, window=window, filters=filters
            )
            checks = {check.name: check for check in Check.objects.filter(project=project)}
            rows = []
            for entry in result["metrics"]:
                check = checks.get(entry.get("check", ""))
                extra = _metric_extra(entry["metric"], check)
                rows.append(
                    {
                        **entry,
                        "title": METRIC_TITLES[entry["metric"]]
                        + (f": {entry['check']}" if entry.get("check") else ""),
                        "a_text": describe(entry["metric"], entry["a"]),
                        "b_text": describe(entry["metric"], entry["b"]),
                        "a_href": explorer_href(
                            project,
                            window.since,
                            window.until,
                            _narrowed(filters, dimension, a),
                            extra,
                        ),
                        "b_href": explorer_href(
                            project,
                            window.since,
                            window.until,
                            _narrowed(filters, dimension, b),
                            extra,
                        ),
                        "difference_text": _difference(entry),
                    }
                )
            reviewed = []
            for side, value in (("a", a), ("b", b)):
                figure = result["reviewed_bad_rate"][side]
                reviewed.append(
                    {
                        "side": side.upper(),
                        "value": value,
                        **figure,
                        "too_few": figure["n"] < FEW_REVIEWS,
                        "href": explorer_href(
                            project,
                            window.since,
                            window.until,
                            _narrowed(filters, dimension, value),
                            [("reviewed_bad", "1")],
                        ),
                    }
                )
            context.update(a=a, b=b, rows=rows, reviewed=reviewed)
    template = f"{COMPARE}#comparison" if _partial(request) else COMPARE
    return render(request, template, context, status=status)


def _difference(entry: Mapping[str, Any]) -> str:
    difference, interval = entry.get("difference"), entry.get("ci95")
    if difference is None:
        return "—"
    if entry["metric"] == "mean_rating":
        text = f"{difference:+.3f}"
        if interval:
            text += f" (95% CI {interval[0]:+.3f} to {interval[1]:+.3f})"
        return text
    text = f"{difference * 100:+.1f} pp"
    if interval:
        text += f" (95% CI {interval[0] * 100:+.1f} to {interval[1] * 100:+.1f} pp)"
    return text
