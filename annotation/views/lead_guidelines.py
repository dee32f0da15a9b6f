"""The guideline editor: a project's versions, the next one written with a live preview and
published through `guideline_publish`, and each version with its diff against the previous one.

Published versions are never edited, so annotations keep the version they were made under.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.models import Project
from annotation.models.review import Guideline
from annotation.rendering import guideline_html, render_markdown, render_word_diff
from annotation.selectors.lead import (
    guideline_next,
    guideline_previous,
    guideline_version,
    latest_guideline,
    project_guidelines,
    queues_pinned_to,
)
from annotation.services.guidelines import (
    MAX_GUIDELINE_CHARS,
    guideline_publish,
    guideline_text_problem,
)
from annotation.views.http import htmx_page
from annotation.views.lead_queues import lead_project
from annotation.views.types import HtmxHttpRequest

LIST = "annotation/lead/guidelines.html"
VERSION = "annotation/lead/guideline_version.html"


def _preview(text: str, latest: Guideline | None) -> dict[str, Any]:
    if len(text) > MAX_GUIDELINE_CHARS:
        # Rendering and diffing a text that cannot be published would be work for nothing.
        return {"preview_problem": guideline_text_problem(text)}
    return {
        "preview_html": render_markdown(text),
        "preview_diff": render_word_diff(latest.text, text) if latest else None,
        "preview_unchanged": latest is not None and latest.text == text,
    }


def _base_version(request: HtmxHttpRequest) -> int | None:
    try:
        return int(request.POST["base_version"])
    except (KeyError, ValueError):
        return None


def _page(
    request: HtmxHttpRequest,
    project: Project,
    *,
    text: str | None = None,
    problem: str = "",
    preview: bool = False,
    partial: str = "versions",
    status: int = 200,
) -> HttpResponse:
    latest = latest_guideline(project)
    if text is None:
        text = latest.text if latest else ""
    context: dict[str, Any] = {
        "project": project,
        "versions": project_guidelines(project),
        "latest": latest,
        "text": text,
        "problem": problem,
        "base_version": latest.version if latest else 0,
        "max_chars": MAX_GUIDELINE_CHARS,
    }
    if preview:
        context.update(_preview(text, latest))
    return render(request, f"{LIST}#{partial}" if request.htmx else LIST, context, status=status)


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def guidelines(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The project's versions and the editor of the next one; POST publishes it."""
    project = lead_project(request, name)
    if request.method != "POST":
        return _page(request, project)
    text = request.POST.get("text", "")
    status = 200 if request.htmx else 422
    latest = latest_guideline(project)
    base = _base_version(request)
    if latest is not None and base is not None and base != latest.version:
        # Someone published while this lead was writing: publishing now would silently drop
        # their changes, so show what changed and let the lead publish again on purpose.
        author = latest.created_by.username if latest.created_by else "someone"
        problem = (
            f"Version {latest.version} was published by {author} after you opened this page; "
            "the preview below compares your text with it. Publish again to replace it."
        )
        return _page(
            request,
            project,
            text=text,
            problem=problem,
            preview=True,
            partial="editor",
            status=status,
        )
    user: User = request.user  # type: ignore[assignment]
    try:
        guideline = guideline_publish(project=project, text=text, created_by=user)
    except ValueError as error:
        return _page(
            request,
            project,
            text=text,
            problem=str(error),
            preview=True,
            partial="editor",
            status=status,
        )
    messages.success(request, f"Published version {guideline.version}.")
    return redirect("lead-guideline-version", name=project.name, version=guideline.version)


@htmx_page
@login_required
@require_POST
def guideline_preview(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The text rendered as annotators will see it and its diff against the latest version."""
    project = lead_project(request, name)
    text = request.POST.get("text", "")
    if request.htmx:
        return render(request, f"{LIST}#preview", _preview(text, latest_guideline(project)))
    return _page(request, project, text=text, preview=True)


@htmx_page
@login_required
@require_GET
def guideline_version_page(request: HtmxHttpRequest, name: str, version: int) -> HttpResponse:
    """One version, rendered, with what changed since the previous one."""
    project = lead_project(request, name)
    guideline = guideline_version(project, version)
    if guideline is None:
        raise Http404(f"{project.name} has no guideline version {version}.")
    previous = guideline_previous(guideline)
    context = {
        "project": project,
        "guideline": guideline,
        "previous": previous,
        "next": guideline_next(guideline),
        "html": guideline_html(guideline),
        "diff": render_word_diff(previous.text, guideline.text) if previous else None,
        "pinned": queues_pinned_to(guideline),
    }
    return render(request, f"{VERSION}#version" if request.htmx else VERSION, context)
