"""A queue's items for its lead: state, reasons and who answered what, filtered by state."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotation.selectors.access import LEADS, queue_for
from annotation.selectors.queue_items import item_states, queue_items
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

TEMPLATE = "annotation/lead/queue_items.html"
PER_PAGE = 50


@htmx_page
@login_required
@require_GET
def queue_items_page(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """`?state=` one of the item states (empty: all), `?page=` a page number."""
    queue = queue_for(request.user, queue_id, LEADS).queue
    states = item_states()
    state = request.GET.get("state", "")
    problem = ""
    if state and state not in {value for value, _ in states}:
        problem = (
            f"{state[:40]!r} is not an item state; choose one of "
            f"{', '.join(value for value, _ in states)}. Showing every item."
        )
        state = ""
    page = Paginator(queue_items(queue, state=state or None), PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "queue": queue,
        "page": page,
        "states": states,
        "state": state,
        "problem": problem,
    }
    status = 400 if problem and not request.htmx else 200
    return render(
        request, f"{TEMPLATE}#items" if request.htmx else TEMPLATE, context, status=status
    )
