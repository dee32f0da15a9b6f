from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.selectors.overview import user_memberships
from annotation.selectors.workspace import annotations_today, annotator_queues


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The user's queues with their progress, and the projects they belong to."""
    user: User = request.user  # type: ignore[assignment]
    queues = list(annotator_queues(user))
    today = annotations_today(user, [queue.pk for queue in queues])
    rows = [(queue, today.get(queue.pk, 0)) for queue in queues]
    return render(
        request, "annotation/home.html", {"queues": rows, "memberships": user_memberships(user)}
    )
