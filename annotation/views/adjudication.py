"""Leads settle items whose annotators disagreed: see every annotation side by side, set the final values."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotation.models import Annotation, Queue, QueueItem
from annotation.rendering import render_word_diff
from annotation.schemas.label_schema import parse_schema
from annotation.selectors.access import LEADS, queue_for
from annotation.selectors.adjudication import (
    accepted_values,
    dispute,
    items_to_adjudicate,
    who_said_what,
)
from annotation.selectors.workspace import item_view
from annotation.services.annotations import AnnotationInvalid, item_adjudicate
from annotation.services.leasing import ReviewError
from annotation.views.annotation_form import values_from_post, widgets
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest


def lead_queue(request: HtmxHttpRequest, queue_id: int) -> Queue:
    """The queue, if the user leads its project; 404 for those who cannot see it, 403 otherwise."""
    return queue_for(request.user, queue_id, LEADS).queue


@htmx_page
@login_required
@require_GET
def adjudication_list(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    queue = lead_queue(request, queue_id)
    page = Paginator(items_to_adjudicate(queue), 50).get_page(request.GET.get("page"))
    template = "annotation/lead/adjudication_list.html"
    context = {"queue": queue, "page": page}
    return render(request, f"{template}#list" if request.htmx else template, context)


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def adjudicate(request: HtmxHttpRequest, queue_id: int, item_id: int) -> HttpResponse:
    queue = lead_queue(request, queue_id)
    item = (
        QueueItem.objects.select_related("interaction", "queue__project")
        .filter(pk=item_id, queue=queue)
        .first()
    )
    if item is None:
        raise Http404("No such item in this queue.")
    fields = parse_schema(queue.schema)
    found = dispute(item, fields)
    values: dict[str, Any] = found.suggested
    errors: dict[str, str] = {}
    problem = ""
    status = 200
    chosen: Annotation | None = None
    if request.method == "POST":
        accepted = request.POST.get("accept")
        if accepted:
            # One click: the final values are this annotator's answers.
            chosen = next((a for a in found.annotations if str(a.pk) == accepted), None)
            if chosen is None:
                raise Http404("No such annotation of this item.")
            values = accepted_values(chosen, fields)
        else:
            documents = [
                str(d.get("id"))
                for d in item.interaction.retrieved_context or []
                if isinstance(d, dict)
            ]
            values = values_from_post(fields, request.POST, documents)
        user: User = request.user  # type: ignore[assignment]
        try:
            item_adjudicate(item_id=item.pk, lead=user, values=values)
        except AnnotationInvalid as invalid:
            errors = {error.field: error.message for error in invalid.errors}
            problem, status = "Fix the fields marked below; nothing was saved.", 422
        except ReviewError as error:
            problem, status = error.message, error.status_code
        else:
            left = items_to_adjudicate(queue).count()
            source = f"{chosen.annotator.username}'s answers" if chosen else "your values"
            messages.success(
                request,
                f"Saved item {item.pk} with {source} as final. "
                + (
                    f"{left} item{'s' if left != 1 else ''} left to adjudicate."
                    if left
                    else "Nothing left to adjudicate."
                ),
            )
            following = items_to_adjudicate(queue).first()
            if following is not None:
                return redirect("lead-adjudicate", queue_id=queue.pk, item_id=following.pk)
            return redirect("lead-adjudication", queue_id=queue.pk)
    view = item_view(item)
    corrections = [
        (annotation, render_word_diff(view.response, str(annotation.values.get(spec.name))))
        for annotation in found.annotations
        for spec in fields
        if spec.type == "correction" and isinstance(annotation.values.get(spec.name), str)
    ]
    context = {
        "queue": queue,
        "item": item,
        "view": view,
        "dispute": found,
        "corrections": corrections,
        "field_names": [spec.name for spec in fields],
        "widgets": widgets(
            fields,
            taxonomy=queue.project.label_names,
            values=values,
            errors=errors,
            response=view.response,
            documents=view.documents,
        ),
        "problem": problem,
        "settled": item.state != "needs_adjudication",
        "said": who_said_what(found, fields),
        "left": items_to_adjudicate(queue).count(),
    }
    return render(request, "annotation/lead/adjudicate.html", context, status=status)
