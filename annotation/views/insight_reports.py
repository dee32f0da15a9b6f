"""Insight report pages: worst slices, comment themes, prompt templates, retrieval, retraining
signal. Leads and engineers of the project read them (annotators 403, others 404); each answers
as a full page or, to htmx, as the partial it swaps; every row links to the explorer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from annotation.api.insight_reports import slices_window
from annotation.insights.query import InvalidQuery, parse_range
from annotation.insights.slices import parse_min_support
from annotation.models import InsightReportKind
from annotation.selectors.insight_reports import slices_report, stored_report, templates_report
from annotation.services.insight_reports import insight_report_request
from annotation.views.explorer import explorer_project
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

PAGES = {
    "slices": "annotation/insights/slices.html",
    "themes": "annotation/insights/themes.html",
    "templates": "annotation/insights/templates.html",
    "retrieval": "annotation/insights/retrieval.html",
    "signals": "annotation/insights/signals.html",
}


def _respond(
    request: HtmxHttpRequest, page: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    if partial:
        status = 200  # htmx swaps 2xx answers only: the explanation must reach the page
    template = f"{PAGES[page]}#report" if partial else PAGES[page]
    context["page"] = page
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_GET
def insights_slices(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Worst slices of a window, BH-significant worse ones first."""
    project, _ = explorer_project(request, name)
    context: dict[str, Any] = {"project": project, "form": request.GET}
    try:
        min_support = parse_min_support(request.GET.get("min_support"))
        window = slices_window(project, request.GET.get("since"), request.GET.get("until"))
    except InvalidQuery as problem:
        context["problem"] = problem
        return _respond(request, "slices", context, status=400)
    context["report"] = slices_report(project, window, min_support=min_support, use_stored=True)
    return _respond(request, "slices", context)


@login_required
@require_GET
def insights_templates(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Per prompt template and version: feedback and review outcomes, from the rollups."""
    project, _ = explorer_project(request, name)
    context: dict[str, Any] = {"project": project, "form": request.GET}
    try:
        window = parse_range(request.GET.get("since"), request.GET.get("until"), timezone.now())
    except InvalidQuery as problem:
        context["problem"] = problem
        return _respond(request, "templates", context, status=400)
    context["report"] = templates_report(project, window)
    return _respond(request, "templates", context)


def _stored_page(kind: str) -> Any:
    @login_required
    @require_GET
    def view(request: HtmxHttpRequest, name: str) -> HttpResponse:
        project, _ = explorer_project(request, name)
        context = {"project": project, "report": stored_report(project, kind)}
        return _respond(request, kind, context)

    view.__name__ = view.__qualname__ = f"insights_{kind}"
    view.__doc__ = f"The newest stored {kind} report of the project."
    return view


insights_themes = _stored_page(InsightReportKind.THEMES)
insights_retrieval = _stored_page(InsightReportKind.RETRIEVAL)
insights_signals = _stored_page(InsightReportKind.SIGNALS)


@htmx_page
@login_required
@require_POST
def insights_request(request: HtmxHttpRequest, name: str, kind: str) -> HttpResponse:
    """Queue a new stored report of `kind` for a window (default: the last 7 days)."""
    if kind not in InsightReportKind.values:
        raise Http404("No such report.")
    project, _ = explorer_project(request, name)
    try:
        window = parse_range(request.POST.get("since"), request.POST.get("until"), timezone.now())
    except InvalidQuery as problem:
        context: dict[str, Any] = {"project": project, "problem": problem, "form": request.POST}
        if kind != "slices":
            context["report"] = stored_report(project, kind)
        return _respond(request, kind, context, status=400)
    insight_report_request(project=project, kind=kind, since=window.since, until=window.until)
    target = f"insights-{kind}"
    if kind == "slices":
        since = window.since.isoformat().replace("+00:00", "Z")
        until = window.until.isoformat().replace("+00:00", "Z")
        return redirect(f"{reverse(target, args=[project.name])}?since={since}&until={until}")
    return redirect(target, name=project.name)
