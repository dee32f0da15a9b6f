from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from annotation.selectors.dashboard import insights_landing
from annotation.selectors.overview import user_memberships
from annotation.selectors.workspace import annotations_today, annotator_queues
from annotation.views.http import htmx_page


@htmx_page
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The user's queues with their progress, and the projects they belong to; a lead or
    engineer with no queue of their own is sent to the insights overview of their project."""
    user: User = request.user  # type: ignore[assignment]
    queues = list(annotator_queues(user))
    if not queues and (landing := insights_landing(user)):
        # Leads and engineers with nothing to annotate land on their project's overview.
        return redirect(landing)
    today = annotations_today(user, [queue.pk for queue in queues])
    rows = [(queue, today.get(queue.pk, 0)) for queue in queues]
    return render(
        request, "annotation/home.html", {"queues": rows, "memberships": user_memberships(user)}
    )
