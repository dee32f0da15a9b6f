from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from annotation.models import ApiToken, KeyScope, Membership, Project, ProjectKey, Role
from annotation.models.audit import AuditAction
from annotation.services.audit import audit_record
from annotation.services.checks import project_setup_checks
from annotation.services.secrets import (
    PROJECT_KEY_PREFIX,
    USER_TOKEN_PREFIX,
    WIDGET_KEY_PREFIX,
    hash_secret,
    new_secret,
)


@dataclass(frozen=True)
class Created:
    """A new object and the secret that goes with it, which is never shown again."""

    obj: Any
    secret: str


def project_key_create(
    *,
    project: Project,
    name: str = "default",
    scope: KeyScope = KeyScope.INGEST,
    actor: Any = None,
    request: Any = None,
) -> Created:
    """Create a key for `project` (ingestion unless `scope` says otherwise); returns it once.

    Recorded in the audit log (`key.created`, by `actor`; None is a command or the system).
    """
    raw, prefix = new_secret(
        WIDGET_KEY_PREFIX if scope == KeyScope.FEEDBACK else PROJECT_KEY_PREFIX
    )
    key = ProjectKey.objects.create(
        project=project, name=name, prefix=prefix, key_hash=hash_secret(raw), scope=scope
    )
    audit_record(
        actor=actor,
        action=AuditAction.KEY_CREATED,
        project=project,
        target=f"key:{prefix}",
        details={"name": name, "scope": str(scope)},
        request=request,
    )
    return Created(obj=key, secret=raw)


@transaction.atomic
def project_create(*, name: str, description: str = "") -> Created:
    """Create a project with the default taxonomy and its first ingestion key."""
    project = Project(name=name, description=description)
    project.full_clean()
    project.save()
    project_setup_checks(project=project)
    return project_key_create(project=project)


def api_token_create(
    *,
    user: User,
    name: str = "default",
    expires_at: datetime | None = None,
    actor: Any = None,
    request: Any = None,
) -> Created:
    """Create an API token for `user`; returns the token once. Audited as `token.created`."""
    raw, prefix = new_secret(USER_TOKEN_PREFIX)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, key_hash=hash_secret(raw), expires_at=expires_at
    )
    audit_record(
        actor=actor if actor is not None else user,
        action=AuditAction.TOKEN_CREATED,
        target=f"token:{prefix}",
        details={
            "user": user.get_username(),
            "name": name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        request=request,
    )
    return Created(obj=token, secret=raw)


@transaction.atomic
def membership_set(
    *, project: Project, user: User, role: Role | str, actor: Any = None, request: Any = None
) -> Membership:
    """Give `user` the role in `project` (creating the membership); a lead gets the admin too.

    A new or changed role is recorded in the audit log (`membership.role_changed`).
    """
    # Leads administer their projects in the Django admin.
    if Role(role) == Role.LEAD and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    before = (
        Membership.objects.select_for_update()
        .filter(project=project, user=user)
        .values_list("role", flat=True)
        .first()
    )
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": Role(role)}
    )
    if before != Role(role):
        audit_record(
            actor=actor,
            action=AuditAction.ROLE_CHANGED,
            project=project,
            target=f"user:{user.pk}",
            details={"user": user.get_username(), "from": before, "to": str(Role(role))},
            request=request,
        )
    return membership


@transaction.atomic
def member_upsert(
    *, username: str, project: Project, role: Role | str, password: str | None = None
) -> Created:
    """Create or update a user and their role in `project`; returns a new API token."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username)
    if password:
        user.set_password(password)
    elif not user.has_usable_password() and not user.password:
        user.set_unusable_password()
    user.save()
    membership_set(project=project, user=user, role=role)
    return api_token_create(user=user)
