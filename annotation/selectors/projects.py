from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from annotation.models import Membership, Project, Role


def projects_for_user(
    user: User | AnonymousUser, *, roles: Iterable[Role] | None = None
) -> QuerySet[Project]:
    """Projects the user belongs to, optionally only those where they hold one of `roles`."""
    if not user.is_authenticated:
        return Project.objects.none()
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return Project.objects.filter(pk__in=memberships.values("project_id"))


def membership_role(user: User | AnonymousUser, project: Project) -> Role | None:
    if not user.is_authenticated:
        return None
    role = (
        Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()
    )
    return Role(role) if role else None
