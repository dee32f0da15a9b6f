"""The lead's pages for review queues: the hub, the queue editor with its live preview, pause,
resume and fill now, and progress per queue and per annotator.

Only leads of a queue's project reach them: people who cannot see the queue get 404, members of
its project who do not lead it 403. One view per page; htmx requests get a named partial of the
same template, and every form also works as a plain POST.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.forms.queue_editor import QueueEditor
from annotation.models import Project
from annotation.models.review import Queue, QueueFill, QueueState
from annotation.selectors.access import LEADS, project_access, queue_for
from annotation.selectors.annotator_quality import queue_quality
from annotation.selectors.lead import (
    last_fill,
    lead_hub,
    queue_draft_preview,
    queue_fill,
    queue_progress,
)
from annotation.services.queues import queue_create, queue_fill_request, queue_update
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

HUB = "annotation/lead/hub.html"
FORM = "annotation/lead/queue_form.html"
PROGRESS = "annotation/lead/queue_progress.html"


def lead_queue(request: HtmxHttpRequest, queue_id: int) -> Queue:
    """The queue, if the user leads its project: 404 for those who cannot see it, 403 otherwise."""
    return queue_for(request.user, queue_id, LEADS).queue


def lead_project(request: HtmxHttpRequest, name: str) -> Project:
    """The project, if the user leads it: 404 for non-members, 403 for other members."""
    return project_access(request.user, name, LEADS).project


def _user(request: HtmxHttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# -- the hub ---------------------------------------------------------------------------------------


@htmx_page
@login_required
@require_GET
def hub(request: HtmxHttpRequest) -> HttpResponse:
    """The queues of every project the user leads, with their progress and last fill."""
    projects = lead_hub(request.user)
    if not projects:
        raise PermissionDenied("You lead no project; a lead's pages are for review leads.")
    return render(request, f"{HUB}#queues" if request.htmx else HUB, {"projects": projects})


# -- the editor ------------------------------------------------------------------------------------


def _controls_context(queue: Queue | None, fill: QueueFill | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"state_choices": QueueState.choices}
    if queue is not None:
        context["fill"] = fill or last_fill(queue)
    return context


def _editor_page(
    request: HtmxHttpRequest,
    editor: QueueEditor,
    *,
    status: int = 200,
    partial: str = "editor",
    preview: bool = True,
) -> HttpResponse:
    queue, project = editor.queue, editor.project
    context: dict[str, Any] = {
        "editor": editor,
        "form": editor.form,
        "sources": editor.sources,
        "project": project,
        "queue": queue,
        "save_url": (
            reverse("lead-queue-edit", args=[queue.pk])
            if queue
            else f"{reverse('lead-queue-new')}?{urlencode({'project': project.name})}"
        ),
        "preview_url": (
            reverse("lead-queue-preview", args=[queue.pk])
            if queue
            else f"{reverse('lead-queue-new-preview')}?{urlencode({'project': project.name})}"
        ),
        **_controls_context(queue),
    }
    if preview:
        context.update(_preview_context(editor))
    template = f"{FORM}#{partial}" if request.htmx else FORM
    return render(request, template, context, status=status)


def _preview_context(editor: QueueEditor) -> dict[str, Any]:
    draft, problems = editor.draft()
    if draft is None:
        return {"preview_problems": problems, "preview": None}
    return {"preview_problems": [], "preview": queue_draft_preview(draft)}


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def queue_new(request: HtmxHttpRequest) -> HttpResponse:
    """Create a queue in `?project=NAME`."""
    project = lead_project(request, request.GET.get("project", ""))
    if request.method != "POST":
        return _editor_page(request, QueueEditor(project=project))
    editor = QueueEditor(project=project, data=request.POST)
    if editor.is_valid():
        try:
            queue = queue_create(
                project=project,
                created_by=_user(request),
                annotators=editor.annotators(),
                **editor.definition(),
            )
        except ValidationError as error:
            editor.add_service_errors(error)
        else:
            messages.success(request, f"Created queue {queue.name}.")
            return redirect("lead-queue-edit", queue_id=queue.pk)
    return _editor_page(request, editor, status=200 if request.htmx else 422)


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def queue_edit(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """Change a queue's definition; items already queued keep their reasons and overlap."""
    queue = lead_queue(request, queue_id)
    if request.method != "POST":
        return _editor_page(request, QueueEditor(project=queue.project, queue=queue))
    editor = QueueEditor(project=queue.project, queue=queue, data=request.POST)
    if editor.is_valid():
        try:
            queue_update(queue=queue, annotators=editor.changed_annotators(), **editor.definition())
        except ValidationError as error:
            editor.add_service_errors(error)
        else:
            messages.success(request, "Saved.")
            return redirect("lead-queue-edit", queue_id=queue.pk)
    return _editor_page(request, editor, status=200 if request.htmx else 422)


def _preview(request: HtmxHttpRequest, editor: QueueEditor) -> HttpResponse:
    if request.htmx:
        return render(request, f"{FORM}#preview", _preview_context(editor))
    # Without JavaScript the Preview and Add a source buttons post here: the page comes back with
    # the form as typed (and one more source row), nothing saved.
    return _editor_page(request, editor)


@htmx_page
@login_required
@require_POST
def queue_new_preview(request: HtmxHttpRequest) -> HttpResponse:
    """What a fill of the queue being created would add, by source; nothing is saved."""
    project = lead_project(request, request.GET.get("project", ""))
    add_source = "add_source" in request.POST
    return _preview(request, QueueEditor(project=project, data=request.POST, add_source=add_source))


@htmx_page
@login_required
@require_POST
def queue_preview(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """What a fill of the queue as edited would add, by source; nothing is saved."""
    queue = lead_queue(request, queue_id)
    add_source = "add_source" in request.POST
    return _preview(
        request,
        QueueEditor(project=queue.project, queue=queue, data=request.POST, add_source=add_source),
    )


# -- pause, resume, fill now -----------------------------------------------------------------------


def _controls(
    request: HtmxHttpRequest,
    queue: Queue,
    *,
    fill: QueueFill | None = None,
    notice: str = "",
    problem: str = "",
) -> HttpResponse:
    if not request.htmx:
        if problem:
            messages.error(request, problem)
        elif notice:
            messages.success(request, notice)
        return redirect("lead-queue-edit", queue_id=queue.pk)
    context = {
        "queue": queue,
        "notice": notice,
        "problem": problem,
        # The editor's state field follows (out of band), or saving it would undo the change.
        "oob": True,
        **_controls_context(queue, fill),
    }
    return render(request, f"{FORM}#controls", context)


def _set_state(request: HtmxHttpRequest, queue_id: int, state: QueueState) -> HttpResponse:
    queue = lead_queue(request, queue_id)
    try:
        queue = queue_update(queue=queue, state=state)
    except ValidationError as error:
        return _controls(
            request,
            queue,
            problem=f"The queue's definition needs fixing first: {'; '.join(error.messages)}",
        )
    notice = "Paused: annotators get no new items." if state == QueueState.PAUSED else "Resumed."
    return _controls(request, queue, notice=notice)


@htmx_page
@login_required
@require_POST
def queue_pause(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    return _set_state(request, queue_id, QueueState.PAUSED)


@htmx_page
@login_required
@require_POST
def queue_resume(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    return _set_state(request, queue_id, QueueState.ACTIVE)


@htmx_page
@login_required
@require_POST
def queue_fill_start(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """Start a fill (a Celery task); the page polls the fill until it is done."""
    queue = lead_queue(request, queue_id)
    try:
        fill = queue_fill_request(queue=queue, requested_by=_user(request))
    except ValidationError as error:
        return _controls(request, queue, problem=error.messages[0])
    return _controls(request, queue, fill=fill, notice="Fill started.")


@htmx_page
@login_required
@require_GET
def queue_fill_status(request: HtmxHttpRequest, queue_id: int, fill_id: int) -> HttpResponse:
    """One fill's status and counts by reason (polled by the editor while the fill runs)."""
    queue = lead_queue(request, queue_id)
    fill = queue_fill(queue, fill_id)
    if fill is None:
        raise Http404("No such fill of this queue.")
    if not request.htmx:
        return redirect("lead-queue-edit", queue_id=queue.pk)
    return render(request, f"{FORM}#fill", {"queue": queue, "fill": fill})


# -- progress --------------------------------------------------------------------------------------


@htmx_page
@login_required
@require_GET
def queue_progress_page(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """Items by state and reason, and each annotator's work and pace (refreshes every 10 s)."""
    queue = lead_queue(request, queue_id)
    context = {"queue": queue, "progress": queue_progress(queue), "quality": queue_quality(queue)}
    return render(request, f"{PROGRESS}#stats" if request.htmx else PROGRESS, context)
