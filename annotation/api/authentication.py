"""Project keys for ingestion (`Bearer`) and user tokens for everything else (`Token`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from annotation.models import ApiToken, KeyScope, Project, ProjectKey
from annotation.services.secrets import hash_secret

# Writing last_used_at on every call would turn each ingestion request into an extra UPDATE.
_LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass
class ProjectClient:
    """The caller of an ingestion request: an application holding one project's key."""

    project: Project
    key: ProjectKey
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None

    @property
    def username(self) -> str:
        return f"key:{self.key.prefix}"


def _credential(request: Request, scheme: str) -> str | None:
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower() != scheme.lower().encode():
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed(
            f"Malformed Authorization header; send 'Authorization: {scheme} <secret>'."
        )
    try:
        return header[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed(
            "The credential contains invalid characters."
        ) from None


class ProjectKeyAuthentication(authentication.BaseAuthentication):
    """Ingestion keys; a public widget key is refused here (it only writes widget feedback)."""

    scope = KeyScope.INGEST

    def authenticate(self, request: Request) -> tuple[ProjectClient, ProjectKey] | None:
        raw = _credential(request, "Bearer")
        if raw is None:
            return None
        key = (
            ProjectKey.objects.select_related("project")
            .filter(key_hash=hash_secret(raw), revoked_at__isnull=True)
            .first()
        )
        if key is None:
            raise exceptions.AuthenticationFailed(
                "Unknown or revoked project key; check the key printed by `createproject`."
            )
        if key.scope != self.scope:
            raise exceptions.AuthenticationFailed(
                "This is a public widget key: it can only send feedback to /api/v1/widget/feedback."
                if key.scope == KeyScope.FEEDBACK
                else "This endpoint takes a widget key; ingestion keys stay on your servers."
            )
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
            ProjectKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ProjectClient(project=key.project, key=key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="ingestion"'


class WidgetKeyAuthentication(ProjectKeyAuthentication):
    """Public widget keys, for end users' feedback from the key's allowed origins."""

    scope = KeyScope.FEEDBACK

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="widget"'


class UserTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        raw = _credential(request, "Token")
        if raw is None:
            return None
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_secret(raw)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                "Unknown token or inactive user; create one with `manage.py adduser`."
            )
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api"'
