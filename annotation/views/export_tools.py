"""The exports page's tools: a preview of what an export would hold (row count, rows per part,
three sample rows, warnings) before building it, and presets saved per project.

Leads and engineers of the project named in the form reach them; annotators get 403 and
projects the user is not a member of do not exist for them (404). Presets of other projects
are 404 too.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.errors import AppError, Forbidden
from annotation.forms.exports import ExportForm
from annotation.models import Project
from annotation.schemas.export_request import ExportRequestInvalid
from annotation.selectors.access import LEADS, READERS, project_access
from annotation.selectors.export_presets import preset_for
from annotation.services.export_presets import export_preset_delete, export_preset_save
from annotation.services.export_preview import export_preview
from annotation.views.exports import LIST, _form, _page, _readable_projects
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest


def _user(request: HtmxHttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _project(request: HtmxHttpRequest, projects: list[Project], form: ExportForm) -> Project:
    """The project the valid form names, checked against the caller's role there."""
    name = form.cleaned_data["project"]
    return project_access(_user(request), name, READERS).project


def _sample_text(row: dict[str, Any]) -> str:
    return json.dumps(row, indent=2, ensure_ascii=False, default=str)


@htmx_page
@login_required
@require_POST
def export_preview_page(request: HtmxHttpRequest) -> HttpResponse:
    """The rows the export as typed would give now, with three of them; nothing is built."""
    projects = _readable_projects(request)
    form = _form(request, projects)
    context: dict[str, Any] = {"preview_problem": ""}
    status = 200
    if form.is_valid():
        project = _project(request, projects, form)
        try:
            preview = export_preview(project=project, data=form.to_request())
        except ExportRequestInvalid as invalid:
            form.add_request_errors(invalid)
            context["preview_problem"] = f"Fix the request first: {invalid.message}"
            status = 400
        else:
            context["preview"] = preview
            context["samples"] = [_sample_text(row) for row in preview.samples]
    else:
        problems = "; ".join(
            f"{name}: {' '.join(str(e) for e in errors)}"
            if name != "__all__"
            else " ".join(str(e) for e in errors)
            for name, errors in form.errors.items()
        )
        context["preview_problem"] = f"Fix the form first: {problems}"
        status = 400
    if request.htmx:
        # The problems are shown in the preview box; htmx swaps only 2xx answers by default.
        return render(request, f"{LIST}#preview", context)
    return _page(request, projects, form, status=status, preview=context)


@htmx_page
@login_required
@require_POST
def export_preset_create(request: HtmxHttpRequest) -> HttpResponse:
    """Save the form's request as a preset of its project under the name typed."""
    projects = _readable_projects(request)
    form = _form(request, projects)
    if form.is_valid():
        if not (form.cleaned_data.get("preset_name") or "").strip():
            form.add_error("preset_name", "Give the preset a name, e.g. 'weekly SFT'.")
        else:
            project = _project(request, projects, form)
            try:
                preset = export_preset_save(
                    project=project,
                    name=form.cleaned_data["preset_name"],
                    request=form.to_request(),
                    created_by=_user(request),
                )
            except AppError as error:
                details = error.details if isinstance(error.details, dict) else {}
                if "name" in details:
                    form.add_error("preset_name", "; ".join(details["name"]))
                else:
                    form.add_error(None, error.message)
            else:
                messages.success(request, f"Saved preset {preset.name} of {project.name}.")
                return redirect(f"{reverse('exports')}?preset={preset.pk}")
    return _page(request, projects, form, status=400)


@htmx_page
@login_required
@require_POST
def export_preset_remove(request: HtmxHttpRequest, preset_id: int) -> HttpResponse:
    """Delete a preset; leads of its project may delete anyone's, engineers their own."""
    preset = preset_for(_user(request), preset_id)
    access = project_access(_user(request), preset.project, READERS)
    if access.role not in LEADS and preset.created_by_id != _user(request).pk:
        raise Forbidden(
            f"Only leads of {preset.project.name} delete presets others saved; "
            f"{preset.created_by.username if preset.created_by else 'someone'} saved this one."
        )
    name = preset.name
    export_preset_delete(preset=preset)
    messages.success(request, f"Deleted preset {name}.")
    return redirect("exports")
