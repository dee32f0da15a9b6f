from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from annotation.models import ApiToken, KeyScope, Membership, Project, ProjectKey, Role
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
    *, project: Project, name: str = "default", scope: KeyScope = KeyScope.INGEST
) -> Created:
    """Create a key for `project` (ingestion unless `scope` says otherwise); returns it once."""
    raw, prefix = new_secret(
        WIDGET_KEY_PREFIX if scope == KeyScope.FEEDBACK else PROJECT_KEY_PREFIX
    )
    key = ProjectKey.objects.create(
        project=project, name=name, prefix=prefix, key_hash=hash_secret(raw), scope=scope
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


def api_token_create(*, user: User, name: str = "default") -> Created:
    """Create an API token for `user`; returns the token once."""
    raw, prefix = new_secret(USER_TOKEN_PREFIX)
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=hash_secret(raw))
    return Created(obj=token, secret=raw)


@transaction.atomic
def membership_set(*, project: Project, user: User, role: Role | str) -> Membership:
    """Give `user` the role in `project` (creating the membership); a lead gets the admin too."""
    # Leads administer their projects in the Django admin.
    if Role(role) == Role.LEAD and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": Role(role)}
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
