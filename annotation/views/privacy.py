"""A project's privacy page (leads): its privacy mode, its retention and the latest runs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotation.errors import Invalid
from annotation.models import PrivacyMode, Project
from annotation.selectors.privacy import retention_runs
from annotation.services.privacy_settings import MAX_RETENTION_DAYS, privacy_settings_update
from annotation.views.http import htmx_page
from annotation.views.lead_queues import lead_project
from annotation.views.types import HtmxHttpRequest

PAGE = "annotation/lead/privacy.html"


def _context(project: Project, **extra: Any) -> dict[str, Any]:
    return {
        "project": project,
        "modes": PrivacyMode.choices,
        "runs": retention_runs(project),
        "max_days": MAX_RETENTION_DAYS,
        "values": {
            "privacy_mode": project.privacy_mode,
            "retention_days": project.retention_days or "",
            "keep_reviewed": project.keep_reviewed,
        },
        **extra,
    }


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def privacy_page(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The settings form and the retention runs; POST saves the settings."""
    project = lead_project(request, name)
    if request.method != "POST":
        return render(request, f"{PAGE}#settings" if request.htmx else PAGE, _context(project))
    data = {
        "privacy_mode": request.POST.get("privacy_mode", ""),
        "retention_days": request.POST.get("retention_days", "").strip(),
        "keep_reviewed": request.POST.get("keep_reviewed") == "on",
    }
    try:
        privacy_settings_update(project=project, data=data)
    except Invalid as error:
        project.refresh_from_db()
        context = _context(project, errors=error.details, problem=error.message)
        context["values"] = {**data, "retention_days": data["retention_days"]}
        status = 200 if request.htmx else 400
        return render(request, f"{PAGE}#settings" if request.htmx else PAGE, context, status=status)
    messages.success(request, "Privacy settings saved; they apply to what arrives from now on.")
    if request.htmx:
        return render(request, f"{PAGE}#settings", _context(project, saved=True))
    return redirect("lead-privacy", name=project.name)


@htmx_page
@login_required
@require_GET
def retention_runs_partial(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The latest retention runs with their counts (the page's table, alone for htmx)."""
    project = lead_project(request, name)
    return render(request, f"{PAGE}#runs" if request.htmx else PAGE, _context(project))
