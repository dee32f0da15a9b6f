"""Project keys for ingestion (`Bearer`) and user tokens for everything else (`Token`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from annotation.errors import RateLimited
from annotation.models import ApiToken, KeyScope, Project, ProjectKey
from annotation.ratelimit import rate_limit_hit
from annotation.services.secrets import hash_secret

# Writing last_used_at on every call would turn each ingestion request into an extra UPDATE.
_LAST_USED_RESOLUTION = timedelta(minutes=5)
# What `new_secret` makes: `flk_<8 hex>_<27 url-safe>` (project), `flp_` (widget), `flt_` (token).
# Anything else is refused before it is hashed or looked up, with a message saying what to send.
_SECRET_SHAPE = re.compile(r"fl[kpt]_[0-9a-f]{8}_[A-Za-z0-9_-]{16,64}")


def _refused(code: str, message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code=code)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


_KINDS = {"flk": "project key", "flp": "widget key", "flt": "user token"}
_MADE_BY = {
    "flk": "a lead's keys page or `manage.py createproject`",
    "flp": "`manage.py createwidgetkey`",
    "flt": "your tokens page (/account/tokens/) or `manage.py adduser`",
}


def _check_shape(raw: str, kind: str, where: str) -> None:
    if not _SECRET_SHAPE.fullmatch(raw):
        raise _refused(
            f"malformed_{kind}",
            f"That is not a {_KINDS[where]} of this server (they look like `{where}_…`, "
            "40 characters); copy the whole value as it was printed, without quotes or spaces, "
            f"or make one on {_MADE_BY[where]}.",
        )


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
        _check_shape(raw, "key", "flk" if self.scope == KeyScope.INGEST else "flp")
        # Read on every request, never cached: a revoked key is refused from the next request on.
        key = ProjectKey.objects.select_related("project").filter(key_hash=hash_secret(raw)).first()
        now = timezone.now()
        if key is None:
            raise _refused(
                "unknown_key", "Unknown project key; check the key printed by `createproject`."
            )
        if key.revoked_at is not None:
            raise _refused(
                "key_revoked",
                f"This project key ({key.prefix}…) was revoked on {_when(key.revoked_at)}; "
                "nothing of this request was stored. Use the key that replaced it.",
            )
        if key.expires_at is not None and key.expires_at <= now:
            raise _refused(
                "key_expired",
                f"This project key ({key.prefix}…) expired on {_when(key.expires_at)} after it "
                "was rotated; nothing of this request was stored. Use the new key.",
            )
        if key.scope != self.scope:
            raise exceptions.AuthenticationFailed(
                "This is a public widget key: it can only send feedback to /api/v1/widget/feedback."
                if key.scope == KeyScope.FEEDBACK
                else "This endpoint takes a widget key; ingestion keys stay on your servers."
            )
        if self.scope == KeyScope.INGEST:
            _rate_limit(key)
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
        _check_shape(raw, "token", "flt")
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_secret(raw)).first()
        if token is None or not token.user.is_active:
            raise _refused(
                "unknown_token",
                "Unknown token or inactive user; create a token on your tokens page "
                "(/account/tokens/) or with `manage.py adduser`.",
            )
        now = timezone.now()
        if token.revoked_at is not None:
            raise _refused(
                "token_revoked",
                f"This token ({token.prefix}…) was revoked on {_when(token.revoked_at)}; "
                "create a new one on your tokens page (/account/tokens/).",
            )
        if token.expires_at is not None and token.expires_at <= now:
            raise _refused(
                "token_expired",
                f"This token ({token.prefix}…) expired on {_when(token.expires_at)}; "
                "create a new one on your tokens page (/account/tokens/).",
            )
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api"'


def _rate_limit(key: ProjectKey) -> None:
    """Count one request against the key's per-minute budget; 429 with Retry-After past it."""
    limit = key.rate_limit_per_minute or settings.INGEST_RATE_PER_KEY
    wait = rate_limit_hit(f"ingest:{key.pk}", limit=limit, window_seconds=60)
    if wait is not None:
        raise RateLimited(
            f"Project key {key.prefix}… is over its {limit:,} requests per minute; nothing of "
            f"this request was stored. Retry after {wait} seconds, and send more items per "
            "request (up to 1,000) instead of more requests.",
            details={"limit_per_minute": limit, "retry_after": wait},
            retry_after=wait,
        )
