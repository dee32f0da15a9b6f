from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from annotation.models import Membership


def user_memberships(user: User) -> QuerySet[Membership]:
    """The user's projects and role in each."""
    return Membership.objects.filter(user=user).select_related("project").order_by("project__name")
