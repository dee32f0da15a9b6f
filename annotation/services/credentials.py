"""Project keys and user tokens after creation: revoke and rotate (each one audited).

Authentication reads keys and tokens from the database on every request (no cache), so a
revocation is in force from the next request on. A rotation creates a new secret with the same
name (and, for keys, scope, origins and rate limit) and retires the old one: at once, or after a
grace period during which both work, so applications can switch over without failing requests.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.errors import Conflict, Invalid
from annotation.models import ApiToken, KeyScope, ProjectKey
from annotation.models.audit import AuditAction
from annotation.services.audit import audit_record
from annotation.services.projects import Created, api_token_create, project_key_create

MAX_GRACE_MINUTES = 7 * 24 * 60
MAX_TOKEN_DAYS = 366


def _live_key(key: ProjectKey) -> ProjectKey:
    locked = ProjectKey.objects.select_for_update().select_related("project").get(pk=key.pk)
    if locked.revoked_at is not None:
        raise Conflict(
            f"Key {locked.prefix}… is already revoked; create a new key instead.",
            code="already_revoked",
        )
    return locked


def _forget_widget_origins(key: ProjectKey) -> None:
    if key.scope == KeyScope.FEEDBACK:
        from annotation.services.widget import widget_origins_forget

        transaction.on_commit(widget_origins_forget)


@transaction.atomic
def project_key_revoke(*, key: ProjectKey, actor: Any, request: Any = None) -> ProjectKey:
    """Revoke a project key now (audited `key.revoked`); its next request gets 401 key_revoked."""
    locked = _live_key(key)
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    _forget_widget_origins(locked)
    audit_record(
        actor=actor,
        action=AuditAction.KEY_REVOKED,
        project=locked.project,
        target=f"key:{locked.prefix}",
        details={"name": locked.name, "scope": locked.scope},
        request=request,
    )
    return locked


def grace_minutes_check(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_MINUTES:
        raise Invalid(
            f"grace_minutes is how long the old key keeps working: a whole number from 0 "
            f"(retired at once) to {MAX_GRACE_MINUTES} (a week).",
            details={"grace_minutes": [f"Send 0 to {MAX_GRACE_MINUTES}."]},
        )
    return value


@transaction.atomic
def project_key_rotate(
    *, key: ProjectKey, actor: Any, grace_minutes: int = 0, request: Any = None
) -> Created:
    """Replace a key with a new one (returned once); the old one stops after `grace_minutes`."""
    grace = grace_minutes_check(grace_minutes)
    old = _live_key(key)
    created = project_key_create(
        project=old.project, name=old.name, scope=KeyScope(old.scope), actor=actor, request=request
    )
    new: ProjectKey = created.obj
    new.allowed_origins = old.allowed_origins
    new.rate_limit_per_minute = old.rate_limit_per_minute
    new.save(update_fields=["allowed_origins", "rate_limit_per_minute"])
    now = timezone.now()
    if grace:
        old.expires_at = now + timedelta(minutes=grace)
        old.save(update_fields=["expires_at"])
    else:
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
    _forget_widget_origins(old)
    audit_record(
        actor=actor,
        action=AuditAction.KEY_ROTATED,
        project=old.project,
        target=f"key:{old.prefix}",
        details={"name": old.name, "replaced_by": new.prefix, "grace_minutes": grace},
        request=request,
    )
    return created


def token_expiry_check(value: Any) -> int | None:
    """`expires_in_days`: None (never) or 1..366."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKEN_DAYS:
        raise Invalid(
            f"expires_in_days is how long the token works: a whole number from 1 to "
            f"{MAX_TOKEN_DAYS}, or null for a token that does not expire.",
            details={"expires_in_days": [f"Send 1 to {MAX_TOKEN_DAYS}, or null."]},
        )
    return value


def user_token_create(
    *, user: User, name: str, expires_in_days: int | None = None, request: Any = None
) -> Created:
    """A new token for the signed-in user (returned once); audited `token.created`."""
    days = token_expiry_check(expires_in_days)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(
            "Name the token (1 to 100 characters), e.g. after the script or machine using it.",
            details={"name": ["Send 1 to 100 characters."]},
        )
    expires_at = timezone.now() + timedelta(days=days) if days else None
    return api_token_create(
        user=user, name=name, expires_at=expires_at, actor=user, request=request
    )


def _live_token(token: ApiToken) -> ApiToken:
    locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if locked.revoked_at is not None:
        raise Conflict(
            f"Token {locked.prefix}… is already revoked; create a new token instead.",
            code="already_revoked",
        )
    return locked


@transaction.atomic
def user_token_revoke(*, token: ApiToken, actor: Any, request: Any = None) -> ApiToken:
    """Revoke a user token now (audited `token.revoked`); its next request gets 401."""
    locked = _live_token(token)
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_REVOKED,
        target=f"token:{locked.prefix}",
        details={"user": locked.user.get_username(), "name": locked.name},
        request=request,
    )
    return locked


@transaction.atomic
def user_token_rotate(*, token: ApiToken, actor: Any, request: Any = None) -> Created:
    """Replace a token with a new one of the same name and lifetime; the old one stops now."""
    old = _live_token(token)
    now = timezone.now()
    expires_at = now + (old.expires_at - old.created_at) if old.expires_at else None
    created = api_token_create(
        user=old.user, name=old.name, expires_at=expires_at, actor=actor, request=request
    )
    old.revoked_at = now
    old.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_ROTATED,
        target=f"token:{old.prefix}",
        details={"user": old.user.get_username(), "replaced_by": created.obj.prefix},
        request=request,
    )
    return created
