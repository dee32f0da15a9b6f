"""The annotator's workspace: take the next item, label it, submit, and get the next one.

One view per page; htmx requests get the `item` partial of the same template, so the page also
works as plain forms without JavaScript.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation.models import Annotation, Lease, LeaseState, Queue, QueueItem
from annotation.rendering import guideline_html
from annotation.review.correction_diff import CorrectionDiff, correction_diff
from annotation.review.display import (
    field_labels,
    shown_values,
    taxonomy_labels,
)
from annotation.schemas.label_schema import FieldSpec, parse_schema
from annotation.selectors.access import MEMBERS, queue_access, queue_for
from annotation.selectors.annotator_progress import annotator_progress, last_annotation_id
from annotation.selectors.queues import guideline_for_queue
from annotation.selectors.workspace import held_lease, item_view, recent_annotations, revisable
from annotation.services.annotations import AnnotationInvalid, annotation_revise, annotation_submit
from annotation.services.leasing import Leased, ReviewError, lease_next, lease_skip, skip_undo
from annotation.views.annotation_form import seconds_from_post, values_from_post, widgets
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

TEMPLATE = "annotation/workspace.html"
_ITEM_ID = re.compile(r"[0-9]{1,18}")


def _queue_for(request: HtmxHttpRequest, queue_id: int) -> Queue:
    return queue_for(request.user, queue_id, MEMBERS).queue


def _documents(item: QueueItem) -> list[str]:
    return [
        str(d.get("id"))
        for d in item.interaction.retrieved_context or []
        if isinstance(d, dict) and d.get("id")
    ]


def _item_context(
    queue: Queue,
    leased: Leased | None,
    *,
    annotator: User,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    problem: str = "",
    undo_item: int | None = None,
    saved: Annotation | None = None,
    start: bool = False,
) -> dict[str, Any]:
    previous = saved.pk if saved is not None else last_annotation_id(queue, annotator)
    context: dict[str, Any] = {
        "queue": queue,
        "start": start,
        "start_url": reverse("queue-work", args=[queue.pk]),
        "notice": notice,
        "problem": problem,
        "leased": leased,
        "undo_skip_url": reverse("item-skip-undo", args=[queue.pk, undo_item])
        if undo_item is not None
        else "",
        "saved": saved,
        "progress": annotator_progress(queue, annotator),
        "previous_url": reverse("annotation-edit", args=[previous]) if previous else "",
    }
    if leased is None:
        return context
    fields: list[FieldSpec] = parse_schema(queue.schema)
    view = item_view(leased.item)
    context.update(
        view=view,
        lease=leased.lease,
        guideline=leased.guideline,
        widgets=widgets(
            fields,
            taxonomy=queue.project.label_names,
            values=values or {},
            errors=errors or {},
            response=view.response,
            documents=view.documents,
            labels=field_labels(queue.schema),
            option_labels=taxonomy_labels(queue.project.taxonomy),
        ),
        submit_url=reverse("item-submit", args=[queue.pk, leased.item.pk]),
        skip_url=reverse("item-skip", args=[queue.pk, leased.item.pk]),
    )
    return context


def _page(
    request: HtmxHttpRequest, queue: Queue, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    if request.htmx:
        return render(request, f"{TEMPLATE}#item", context, status=status)
    guideline = guideline_for_queue(queue)
    context.update(
        guideline_html=guideline_html(guideline) if guideline else "",
        guideline_version=guideline.version if guideline else None,
    )
    return render(request, TEMPLATE, context, status=status)


def _next(request: HtmxHttpRequest, queue: Queue, **extra: Any) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        leased = lease_next(queue=queue, annotator=user)
    except ReviewError as error:
        extra["problem"] = error.message
        return _page(
            request, queue, _item_context(queue, None, annotator=user, **extra), error.status_code
        )
    return _page(request, queue, _item_context(queue, leased, annotator=user, **extra))


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def queue_work(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """GET shows the item the annotator holds, or a Start form; POST leases the next item.

    A GET never takes an item: the page posts the Start form itself on load (htmx), and without
    JavaScript the annotator presses Start. A plain POST that leased redirects to the GET.
    """
    queue = _queue_for(request, queue_id)
    # After a skip without JavaScript: ?skipped=<item> offers its undo.
    skipped = request.GET.get("skipped", "")
    extra: dict[str, Any] = (
        {"notice": "Skipped.", "undo_item": int(skipped)} if _ITEM_ID.fullmatch(skipped) else {}
    )
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        if request.htmx:
            return _next(request, queue, **extra)
        try:
            leased = lease_next(queue=queue, annotator=user)
        except ReviewError as error:
            context = _item_context(queue, None, annotator=user, problem=error.message, **extra)
            return _page(request, queue, context, error.status_code)
        if leased is None:
            return _page(request, queue, _item_context(queue, None, annotator=user, **extra))
        return redirect("queue-work", queue_id=queue.pk)
    lease = held_lease(queue, user)
    if lease is None:
        context = _item_context(queue, None, annotator=user, start=True, **extra)
        return _page(request, queue, context)
    leased = Leased(item=lease.item, lease=lease, guideline=lease.guideline)
    return _page(request, queue, _item_context(queue, leased, annotator=user, **extra))


def _lease_ahead(request: HtmxHttpRequest, queue: Queue) -> None:
    """Before a plain form's redirect to the GET: lease the next item so the page shows it.

    A refusal is left for the page's Start form to explain."""
    user: User = request.user  # type: ignore[assignment]
    with contextlib.suppress(ReviewError):
        lease_next(queue=queue, annotator=user)


def _held(request: HtmxHttpRequest, queue: Queue, item_id: int) -> QueueItem:
    item = (
        QueueItem.objects.select_related("interaction", "queue__project")
        .filter(pk=item_id, queue=queue)
        .first()
    )
    if item is None:
        raise Http404("No such item in this queue.")
    return item


@htmx_page
@login_required
@require_POST
def item_submit(request: HtmxHttpRequest, queue_id: int, item_id: int) -> HttpResponse:
    """Store the annotation and move on; a refused one comes back with its values and errors."""
    queue = _queue_for(request, queue_id)
    item = _held(request, queue, item_id)
    user: User = request.user  # type: ignore[assignment]
    values = values_from_post(
        parse_schema(queue.schema),
        request.POST,
        _documents(item),
        original=item.interaction.response,
    )
    try:
        saved = annotation_submit(
            item_id=item.pk, annotator=user, values=values, seconds=seconds_from_post(request.POST)
        )
    except AnnotationInvalid as invalid:
        errors = {error.field: error.message for error in invalid.errors}
        lease = Lease.objects.select_related("guideline").filter(item=item, annotator=user).first()
        if lease is None:
            return _next(
                request, queue, problem="You hold no lease on that item; nothing was saved."
            )
        leased = Leased(item=item, lease=lease, guideline=lease.guideline)
        context = _item_context(
            queue,
            leased,
            annotator=user,
            values=values,
            errors=errors,
            problem="Fix the fields marked below; nothing was saved yet.",
        )
        return _page(request, queue, context, status=422 if not request.htmx else 200)
    except ReviewError as error:
        if not request.htmx:
            return redirect("queue-work", queue_id=queue.pk)
        return _next(request, queue, problem=error.message)
    if not request.htmx:
        _lease_ahead(request, queue)
        return redirect("queue-work", queue_id=queue.pk)
    return _next(request, queue, notice="Saved.", saved=saved)


@htmx_page
@login_required
@require_POST
def item_skip(request: HtmxHttpRequest, queue_id: int, item_id: int) -> HttpResponse:
    queue = _queue_for(request, queue_id)
    item = _held(request, queue, item_id)
    user: User = request.user  # type: ignore[assignment]
    try:
        lease_skip(item_id=item.pk, annotator=user)
    except ReviewError as error:
        return _next(request, queue, problem=error.message)
    if not request.htmx:
        _lease_ahead(request, queue)
        return redirect(f"{reverse('queue-work', args=[queue.pk])}?skipped={item.pk}")
    return _next(request, queue, notice="Skipped.", undo_item=item.pk)


@htmx_page
@login_required
@require_POST
def item_skip_undo(request: HtmxHttpRequest, queue_id: int, item_id: int) -> HttpResponse:
    """Take back a skip: the item comes back (the one leased since is handed back)."""
    queue = _queue_for(request, queue_id)
    item = _held(request, queue, item_id)
    user: User = request.user  # type: ignore[assignment]
    try:
        undone = skip_undo(item_id=item.pk, annotator=user)
    except ReviewError as error:
        return _next(request, queue, problem=error.message)
    if undone.lease.state != LeaseState.ACTIVE:
        return _next(
            request,
            queue,
            notice="Skip undone; every free slot of that item is taken, so it comes back to you "
            "once one frees.",
        )
    if not request.htmx:
        return redirect("queue-work", queue_id=queue.pk)
    context = _item_context(queue, undone, annotator=user, notice="Skip undone.")
    return _page(request, queue, context)


def _correction_of(queue: Queue, annotation: Annotation) -> CorrectionDiff | None:
    """The word diff of the annotation's correction against the response, if it made one."""
    for spec in parse_schema(queue.schema):
        text = annotation.values.get(spec.name) if isinstance(annotation.values, dict) else None
        if spec.type == "correction" and isinstance(text, str) and text:
            return correction_diff(annotation.item.interaction.response, text)
    return None


@htmx_page
@login_required
@require_GET
def my_annotations(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """The annotator's recent annotations in this queue, each revisable until its item is done."""
    queue = _queue_for(request, queue_id)
    user: User = request.user  # type: ignore[assignment]
    taxonomy = queue.project.taxonomy
    rows = [
        {
            "annotation": annotation,
            "editable": revisable(annotation),
            "values": shown_values(annotation.values, schema=queue.schema, taxonomy=taxonomy),
            "diff": _correction_of(queue, annotation),
        }
        for annotation in recent_annotations(user, queue)
    ]
    template = "annotation/my_annotations.html"
    return render(
        request, f"{template}#list" if request.htmx else template, {"queue": queue, "rows": rows}
    )


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def annotation_edit(request: HtmxHttpRequest, annotation_id: int) -> HttpResponse:
    """Revise one's own annotation while its item is not done."""
    user: User = request.user  # type: ignore[assignment]
    annotation = get_object_or_404(
        Annotation.objects.select_related("item__queue__project", "item__interaction"),
        pk=annotation_id,
        annotator=user,
    )
    queue = annotation.item.queue
    if queue_access(user, queue.pk) is None:
        raise Http404("No such annotation among yours.")
    fields = parse_schema(queue.schema)
    values: dict[str, Any] = dict(annotation.values)
    errors: dict[str, str] = {}
    problem = notice = ""
    status = 200
    if request.method == "POST":
        values = values_from_post(
            fields,
            request.POST,
            _documents(annotation.item),
            original=annotation.item.interaction.response,
        )
        try:
            annotation = annotation_revise(
                annotation_id=annotation.pk, annotator=user, values=values
            )
            notice = "Saved your revision."
        except AnnotationInvalid as invalid:
            errors = {error.field: error.message for error in invalid.errors}
            problem = "Fix the fields marked below; your revision was not saved."
            status = 422
        except ReviewError as error:
            problem = error.message
            status = error.status_code
    view = item_view(annotation.item)
    context = {
        "queue": queue,
        "annotation": annotation,
        "view": view,
        "editable": revisable(annotation),
        "widgets": widgets(
            fields,
            taxonomy=queue.project.label_names,
            values=values,
            errors=errors,
            response=view.response,
            documents=view.documents,
            labels=field_labels(queue.schema),
            option_labels=taxonomy_labels(queue.project.taxonomy),
        ),
        "notice": notice,
        "problem": problem,
    }
    template = "annotation/annotation_edit.html"
    return render(request, f"{template}#form" if request.htmx else template, context, status=status)
