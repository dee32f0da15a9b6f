from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, QuerySet

from annotation.models import Project
from annotation.selectors.projects import projects_for_user


def project_overview(user: User | AnonymousUser) -> QuerySet[Project]:
    """The user's projects with interaction and feedback counts, in one query."""
    return projects_for_user(user).annotate(
        interaction_count=Count("interactions", distinct=True),
        feedback_count=Count("feedback", distinct=True),
    )
