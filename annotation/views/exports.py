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

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotation.api.exports import export_files
from annotation.forms.exports import ExportForm
from annotation.models import Export, JobStatus
from annotation.models.review import Queue
from annotation.schemas.export_request import ExportRequestInvalid
from annotation.selectors.exports import export_access, export_projects, exports_for_user
from annotation.services.exports import export_create
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

LIST = "annotation/exports/exports.html"
DETAIL = "annotation/exports/export.html"
LISTED = 50


def _user(request: HtmxHttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _export(request: HtmxHttpRequest, export_id: int) -> Export:
    access = export_access(request.user, export_id)
    if access is None:
        raise Http404("No such export among your projects.")
    if not access.allowed:
        raise PermissionDenied(
            f"Only leads and engineers of {access.export.project.name} see its exports."
        )
    return access.export


def _running(exports: list[Export]) -> bool:
    return any(e.status in (JobStatus.PENDING, JobStatus.RUNNING) for e in exports)


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def exports_page(request: HtmxHttpRequest) -> HttpResponse:
    """The user's exports (the list refreshes while one runs) and the form for a new one."""
    user = _user(request)
    projects = list(export_projects(user))
    if not projects:
        raise PermissionDenied("Exports are for leads and ML engineers of a project.")
    exports = list(exports_for_user(user)[:LISTED])
    context = {"exports": exports, "running": _running(exports)}
    if request.htmx and request.method == "GET":
        return render(request, f"{LIST}#list", context)
    queues = Queue.objects.filter(project__in=projects).select_related("project")
    form = ExportForm(request.POST or None, projects=projects, queues=list(queues))
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
    context["form"] = form
    return render(request, LIST, context, status=status)


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
