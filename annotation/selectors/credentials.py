"""Reading project keys and user tokens (never their secrets: a prefix identifies them)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from annotation.errors import NotFound
from annotation.models import ApiToken, ProjectKey
from annotation.selectors.access import LEADS, ProjectAccess, project_access


def credential_state(obj: ProjectKey | ApiToken) -> str:
    if obj.revoked_at is not None:
        return "revoked"
    if obj.expires_at is not None and obj.expires_at <= timezone.now():
        return "expired"
    return "active"


def _stamp(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def key_json(key: ProjectKey) -> dict[str, Any]:
    return {
        "id": key.pk,
        "project": key.project.name,
        "name": key.name,
        "prefix": key.prefix,
        "scope": key.scope,
        "state": credential_state(key),
        "created_at": _stamp(key.created_at),
        "last_used_at": _stamp(key.last_used_at),
        "expires_at": _stamp(key.expires_at),
        "revoked_at": _stamp(key.revoked_at),
        "rate_limit_per_minute": key.rate_limit_per_minute,
    }


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "state": credential_state(token),
        "created_at": _stamp(token.created_at),
        "last_used_at": _stamp(token.last_used_at),
        "expires_at": _stamp(token.expires_at),
        "revoked_at": _stamp(token.revoked_at),
    }


def project_keys(access: ProjectAccess) -> QuerySet[ProjectKey]:
    return (
        ProjectKey.objects.filter(project=access.project)
        .select_related("project")
        .order_by("-created_at", "-id")
    )


def key_for(user: Any, key_id: int) -> tuple[ProjectKey, ProjectAccess]:
    """A key of a project the caller leads: 404 when it is not theirs to see, 403 for non-leads."""
    key = ProjectKey.objects.select_related("project").filter(pk=key_id).first()
    if key is None:
        raise NotFound(f"No project key {key_id} in your projects.")
    try:
        access = project_access(user, key.project, LEADS)
    except NotFound:
        raise NotFound(f"No project key {key_id} in your projects.") from None
    return key, access


def user_tokens(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def token_for(user: Any, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_related("user").filter(pk=token_id, user_id=user.pk).first()
    if token is None:
        raise NotFound(f"No token {token_id} of yours.")
    return token
