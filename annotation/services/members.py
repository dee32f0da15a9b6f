"""Project membership managed by a project's leads inside the app: add a person with a role,
change a role, remove someone. A project always keeps at least one lead."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from annotation.errors import Conflict, Invalid, NotFound
from annotation.models import Membership, Project, Role
from annotation.models.review import Queue
from annotation.services.projects import membership_set

MAX_USERNAME = 150


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(Role.values)
        raise Invalid(
            f"role: {role!r} is not a role; use one of {choices}.",
            details={"role": [f"use one of {choices}"]},
        ) from None


def _locked_leads(project: Project) -> list[int]:
    """The ids of the project's leads, their rows locked until the transaction ends, so two
    leads demoting each other at once cannot leave the project without one."""
    return list(
        Membership.objects.select_for_update()
        .filter(project=project, role=Role.LEAD)
        .order_by("pk")
        .values_list("user_id", flat=True)
    )


def member_add(*, project: Project, username: str, role: str) -> Membership:
    """Make an existing user a member of `project` with `role` (one Membership row)."""
    role_value = _role(role)
    name = username.strip()
    if not name or len(name) > MAX_USERNAME:
        raise Invalid(
            "username: give the username of an existing account.",
            details={"username": ["give the username of an existing account"]},
        )
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        raise Invalid(
            f"username: no active account named {name!r}; create it first "
            "(manage.py adduser) or check the spelling.",
            details={"username": [f"no active account named {name!r}"]},
        )
    existing = Membership.objects.filter(project=project, user=user).first()
    if existing is not None:
        raise Conflict(
            f"{name} is already {existing.get_role_display().lower()} of {project.name}; "
            "change their role in the list instead.",
            code="already_member",
            details={"username": ["already a member"]},
        )
    return membership_set(project=project, user=user, role=role_value)


def _membership(project: Project, user_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("user").filter(project=project, user_id=user_id).first()
    )
    if membership is None:
        raise NotFound(f"No member {user_id} in {project.name}.")
    return membership


@transaction.atomic
def member_role_change(*, project: Project, user_id: int, role: str) -> Membership:
    """Give a member another role; refuses to demote the project's last lead."""
    role_value = _role(role)
    leads = _locked_leads(project)
    membership = _membership(project, user_id)
    if role_value != Role.LEAD and leads == [membership.user_id]:
        raise Conflict(
            f"{membership.user.username} is the last lead of {project.name}; make someone else "
            "lead first.",
            code="last_lead",
            details={"role": ["the project needs at least one lead"]},
        )
    user: User = membership.user
    return membership_set(project=project, user=user, role=role_value)


@transaction.atomic
def member_remove(*, project: Project, user_id: int) -> None:
    """Remove a member from the project and from its queues' annotators; refuses the last lead.

    Their annotations stay (exports and agreement keep who said what).
    """
    leads = _locked_leads(project)
    membership = _membership(project, user_id)
    if leads == [membership.user_id]:
        raise Conflict(
            f"{membership.user.username} is the last lead of {project.name}; make someone else "
            "lead first.",
            code="last_lead",
        )
    for queue in Queue.objects.filter(project=project, annotators=membership.user_id):
        queue.annotators.remove(membership.user_id)
    membership.delete()
