"""The exports pages: build an export, watch it run, download its files and manifest.

For leads and engineers of a project; annotators get 403, and exports of projects the
user is not a member of do not exist for them (404). One view per page; htmx requests
get a named partial of the same template (the list and the status poll while an export
runs), and the form also works as a plain POST. Downloads go through the API
(``/api/v1/exports/{id}/download``), which accepts the browser session and records each
one in the audit log.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotation.api.exports import export_files
from annotation.exports.manifest import empty_part_warnings
from annotation.forms.exports import ExportForm, request_initial
from annotation.models import Export, JobStatus, Project
from annotation.models.review import Queue
from annotation.schemas.export_request import ExportRequestInvalid
from annotation.selectors.access import export_for
from annotation.selectors.export_presets import preset_in, presets_for
from annotation.selectors.exports import export_projects, exports_for_user
from annotation.selectors.filter_suggestions import filter_suggestions_for
from annotation.services.exports import export_create
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

LIST = "annotation/exports/exports.html"
DETAIL = "annotation/exports/export.html"
LISTED = 50
# Filters whose inputs suggest the values the projects' interactions carry.
SUGGESTED = ("model", "model_version", "prompt_template")


def _user(request: HtmxHttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _export(request: HtmxHttpRequest, export_id: int) -> Export:
    return export_for(request.user, export_id)


def manifest_warnings(manifest: dict[str, Any]) -> list[str]:
    """The manifest's warnings; for exports built before manifests carried them, an empty
    split part is found from its files."""
    if "warnings" in manifest:
        return [str(w) for w in manifest["warnings"]]
    files = manifest.get("files") or []
    split = (manifest.get("options") or {}).get("split")
    return empty_part_warnings({f["part"]: f["rows"] for f in files}, split=split)


def _running(exports: list[Export]) -> bool:
    return any(e.status in (JobStatus.PENDING, JobStatus.RUNNING) for e in exports)


def _form(
    request: HtmxHttpRequest, projects: list[Project], initial: dict[str, Any] | None = None
) -> ExportForm:
    queues = Queue.objects.filter(project__in=projects).select_related("project")
    data = request.POST if request.method == "POST" else None
    return ExportForm(data, projects=projects, queues=list(queues), initial=initial)


def _page(
    request: HtmxHttpRequest,
    projects: list[Project],
    form: ExportForm,
    *,
    status: int = 200,
    preview: dict[str, Any] | None = None,
) -> HttpResponse:
    exports = list(exports_for_user(_user(request))[:LISTED])
    suggestions = filter_suggestions_for(projects)
    for name in SUGGESTED:
        if suggestions.get(name):
            form.fields[name].widget.attrs["list"] = f"export-suggest-{name}"
    context: dict[str, Any] = {
        "exports": exports,
        "running": _running(exports),
        "form": form,
        "presets": presets_for(projects),
        "suggestions": {name: suggestions.get(name, []) for name in SUGGESTED},
        **(preview or {}),
    }
    return render(request, LIST, context, status=status)


def _readable_projects(request: HtmxHttpRequest) -> list[Project]:
    projects = list(export_projects(_user(request)))
    if not projects:
        raise PermissionDenied("Exports are for leads and ML engineers of a project.")
    return projects


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def exports_page(request: HtmxHttpRequest) -> HttpResponse:
    """The user's exports (the list refreshes while one runs) and the form for a new one;
    `?preset=ID` fills the form from a saved preset."""
    user = _user(request)
    projects = _readable_projects(request)
    if request.htmx and request.method == "GET":
        exports = list(exports_for_user(user)[:LISTED])
        return render(request, f"{LIST}#list", {"exports": exports, "running": _running(exports)})
    initial = None
    if request.method == "GET" and request.GET.get("preset"):
        preset = preset_in(projects, request.GET["preset"])
        initial = request_initial(preset.request, project=preset.project.name)
        messages.info(request, f"Filled from preset {preset.name}; build it or change it first.")
    form = _form(request, projects, initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            request_data = form.to_request()
            project = next(p for p in projects if p.name == request_data["project"])
            try:
                export = export_create(project=project, created_by=user, data=request_data)
            except ExportRequestInvalid as invalid:
                form.add_request_errors(invalid)
            else:
                messages.success(request, f"Export {export.pk} started.")
                return redirect("export-detail", export_id=export.pk)
        status = 400
    return _page(request, projects, form, status=status)


@htmx_page
@login_required
@require_GET
def export_detail(request: HtmxHttpRequest, export_id: int) -> HttpResponse:
    """One export: progress while it runs (polled), then its files, counts and manifest."""
    export = _export(request, export_id)
    context = {
        "export": export,
        "files": export_files(export),
        "manifest_json": json.dumps(export.manifest, indent=2, ensure_ascii=False)
        if export.manifest
        else "",
        "running": export.status in (JobStatus.PENDING, JobStatus.RUNNING),
        "warnings": manifest_warnings(export.manifest) if export.manifest else [],
    }
    return render(request, f"{DETAIL}#status" if request.htmx else DETAIL, context)


@htmx_page
@login_required
@require_GET
def export_manifest(request: HtmxHttpRequest, export_id: int) -> HttpResponse:
    """The manifest of a done export as a JSON file."""
    export = _export(request, export_id)
    if export.status != JobStatus.DONE:
        raise Http404("This export has no manifest yet; it is written when the export is done.")
    response = JsonResponse(export.manifest, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = (
        f'attachment; filename="{export.project.name}-export-{export.pk}-manifest.json"'
    )
    return response
