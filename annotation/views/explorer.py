"""The interaction explorer: find a project's interactions, open one, send a selection to a queue.

Leads and engineers of the project read it (annotators get a 403, anyone else a 404); sending to
a queue is for leads. Every page answers as a full page or, to htmx, as the partial it swaps.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.models import Project, Queue, Severity
from annotation.models.feedback import FeedbackKind
from annotation.models.review import ItemState, QueueState
from annotation.rendering import highlight_spans
from annotation.selectors.access import READERS, project_access
from annotation.selectors.explorer import (
    MAX_SELECTION,
    PAGE_SIZE,
    InvalidQuery,
    cursor_decode,
    cursor_encode,
    explorer_checks,
    explorer_ids,
    explorer_page,
    explorer_query_parse,
    explorer_queues,
)
from annotation.selectors.interactions import interaction_feedback_page, interactions_with_feedback
from annotation.selectors.settled import queue_item_outcome
from annotation.services.manual_items import (
    ManualAddError,
    ManualAddOutcome,
    queue_add_interactions,
)
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

PAGE = "annotation/insights/explorer.html"
DETAIL = "annotation/insights/interaction.html"


def explorer_project(request: HtmxHttpRequest, name: str) -> tuple[Project, bool]:
    """The project and whether the user leads it: 404 for non-members, 403 for annotators."""
    access = project_access(request.user, name, READERS)
    return access.project, access.is_lead


def _params(query: QueryDict) -> dict[str, list[str]]:
    return {name: query.getlist(name) for name in query}


def _partial(request: HtmxHttpRequest) -> bool:
    # htmx restoring a pushed URL from the server (Back, with its history cache empty) swaps the
    # whole body: it needs the full page.
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _filters_without(query: QueryDict, *names: str) -> str:
    return urlencode([(k, v) for k, values in query.lists() if k not in names for v in values])


@htmx_page
@login_required
@require_GET
def explorer(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Interactions matching the query string, 50 at a time, newest first."""
    project, is_lead = explorer_project(request, name)
    context: dict[str, Any] = {
        "project": project,
        "is_lead": is_lead,
        "params": request.GET,
        "checks": explorer_checks(project),
        "queues": (queues := explorer_queues(project)),
        "send_queues": [queue for queue in queues if queue.state != QueueState.ARCHIVED],
        "page_size": PAGE_SIZE,
        "max_selection": MAX_SELECTION,
        "filters": _filters_without(request.GET, "after"),
        "form": {key: ",".join(v for v in values if v) for key, values in request.GET.lists()},
        "kinds": FeedbackKind.values,
        "severities": [str(severity.label) for severity in Severity],
        "states": ItemState.values,
    }
    status = 200
    try:
        query = explorer_query_parse(_params(request.GET), project=project)
    except InvalidQuery as problem:
        context["problem"] = problem
        # htmx swaps 2xx answers only: the explanation must reach the page either way.
        status = 200 if request.htmx else 400
    else:
        page = explorer_page(project=project, query=query)
        context["rows"] = page.rows
        context["first_page"] = query.after is None
        if page.next_cursor:
            context["older"] = f"?{_filters_without(request.GET, 'after')}&after={page.next_cursor}"
    template = f"{PAGE}#results" if _partial(request) else PAGE
    return render(request, template, context, status=status)


@htmx_page
@login_required
@require_GET
def interaction_detail(request: HtmxHttpRequest, name: str, pk: int) -> HttpResponse:
    """One interaction: messages, response with flagged spans, documents, feedback, reviews."""
    project, is_lead = explorer_project(request, name)
    interaction = interactions_with_feedback().filter(project=project, pk=pk).first()
    if interaction is None:
        raise Http404(f"{project.name} has no interaction {pk}.")
    try:
        after = cursor_decode(request.GET.get("feedback_after"))
    except InvalidQuery:
        after = None
    feedback = interaction_feedback_page(interaction=interaction, after=after)
    flags = list(interaction.flags.all())
    spans = [
        span
        for flag in flags
        if flag.flagged
        for span in flag.spans
        if isinstance(span, dict) and "in" not in span
    ]
    items = [(item, queue_item_outcome(item)) for item in interaction.queue_items.all()]
    context: dict[str, Any] = {
        "project": project,
        "is_lead": is_lead,
        "interaction": interaction,
        "messages_list": [m for m in interaction.messages or [] if isinstance(m, dict)],
        "documents": [d for d in interaction.retrieved_context or [] if isinstance(d, dict)],
        "response_html": highlight_spans(interaction.response, spans),
        "flags": flags,
        "feedback": feedback,
        "feedback_next": cursor_encode(feedback.next_after) if feedback.next_after else None,
        "items": items,
        "back": request.GET.get("back", ""),
    }
    template = f"{DETAIL}#detail" if _partial(request) else DETAIL
    return render(request, template, context)


@htmx_page
@login_required
@require_POST
def send_to_queue(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Add the ticked interactions (or every match, up to 5,000) to a queue as manual items."""
    project, is_lead = explorer_project(request, name)
    if not is_lead:
        raise PermissionDenied(f"Only leads of {name} send interactions to its queues.")
    filters = request.POST.get("filters", "")
    back = reverse("insights-explorer", args=[project.name]) + (f"?{filters}" if filters else "")
    problem, outcome, queue = "", None, None
    try:
        queue = _target_queue(project, request.POST.get("target_queue", ""))
        if request.POST.get("all") == "1":
            # Every match, from the newest: where the page was does not narrow "all".
            params = {k: v for k, v in _params(QueryDict(filters)).items() if k != "after"}
            query = explorer_query_parse(params, project=project)
            ids = explorer_ids(project=project, query=query)
        else:
            ids = _ticked(request.POST.getlist("interaction"))
        user: User = request.user  # type: ignore[assignment]
        outcome = queue_add_interactions(queue=queue, interaction_ids=ids, added_by=user)
    except (InvalidQuery, ManualAddError) as error:
        problem = error.message
    if request.htmx:
        summary = _summary(outcome, queue) if outcome is not None and queue is not None else ""
        context = {"problem": problem, "summary": summary, "project": project}
        return render(request, f"{PAGE}#sent", context)
    if problem:
        messages.error(request, problem)
    elif outcome is not None and queue is not None:
        messages.success(request, _summary(outcome, queue))
    return redirect(back)


def _target_queue(project: Project, raw: str) -> Queue:
    if not raw.isdigit() or len(raw) > 18:
        raise ManualAddError("target_queue", "Choose the queue to send the interactions to")
    queue = Queue.objects.filter(project=project, pk=int(raw)).first()
    if queue is None:
        raise ManualAddError("target_queue", f"{project.name} has no queue {raw}")
    return queue


def _ticked(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not value.isdigit() or len(value) > 18:
            raise ManualAddError("interaction", f"{value[:40]!r} is not an interaction id")
        ids.append(int(value))
    return ids


def _summary(outcome: ManualAddOutcome, queue: Queue) -> str:
    text = f"Added {outcome.added} to {queue.name}"
    if outcome.already:
        text += f"; {outcome.already} already there"
    if outcome.refused:
        text += f"; {outcome.refused} refused (not in this project)"
    return text + "."
