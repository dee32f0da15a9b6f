from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from annotation.models import Role
from annotation.selectors.annotator_progress import annotator_progress_by_queue
from annotation.selectors.dashboard import insights_landing
from annotation.selectors.overview import user_memberships
from annotation.selectors.workspace import annotator_queues
from annotation.views.http import htmx_page


@htmx_page
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The user's queues with their progress, and the projects they belong to.

    Each role lands on its own page: annotators on their queues (this page); a lead with no queue
    of their own on the overview of their project; an engineer on the exports.
    """
    user: User = request.user  # type: ignore[assignment]
    queues = list(annotator_queues(user))
    memberships = list(user_memberships(user))
    if not queues:
        roles = {membership.role for membership in memberships}
        if Role.LEAD in roles and (landing := insights_landing(user)):
            return redirect(landing)
        if Role.ENGINEER in roles:
            return redirect(reverse("exports"))
    progress = annotator_progress_by_queue(queues, user)
    rows = [(queue, progress[queue.pk]) for queue in queues]
    return render(request, "annotation/home.html", {"queues": rows, "memberships": memberships})
