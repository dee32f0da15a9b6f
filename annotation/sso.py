"""Single sign-on through OpenID Connect (mozilla-django-oidc), when OIDC_CLIENT_ID is set.

The provider's endpoints come from its discovery document (`OIDC_ISSUER` +
`/.well-known/openid-configuration`, fetched once and cached for an hour) unless set one by one.
The code flow uses state, nonce and PKCE; the ID token's signature is checked against the
provider's JWKS, and so are its issuer, audience (our client id) and expiry.

Signing in creates the user, or links the one with the same verified e-mail address, and grants
nothing: roles are given per project by a lead, as for anyone else. Each SSO sign-in is audited.
Anything going wrong with the provider sends the person back to the login page with a message,
never a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from annotation.models.audit import AuditAction
from annotation.services.audit import audit_record

logger = logging.getLogger(__name__)

_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_DISCOVERY_SECONDS = 3600
_USERNAME_CHARS = re.compile(r"[^\w.@+-]")


class ProviderUnavailable(Exception):
    """The identity provider's discovery document could not be read."""


def discovery() -> dict[str, Any]:
    """The provider's discovery document (cached); refuses one naming another issuer."""
    issuer = settings.OIDC_ISSUER.rstrip("/")
    key = f"oidc:discovery:{issuer}"
    document = cache.get(key)
    if document is None:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"cannot read {url}: {exc}") from exc
        if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
            raise ProviderUnavailable(f"{url} names another issuer than OIDC_ISSUER")
        cache.set(key, document, _DISCOVERY_SECONDS)
    return dict(document)


def sso_setting(attr: str, *args: Any) -> Any:
    """A setting, with the provider's endpoints from discovery when not set explicitly."""
    if attr in _DISCOVERED and not getattr(settings, attr, "") and settings.OIDC_ISSUER:
        value = discovery().get(_DISCOVERED[attr])
        if not value:
            raise ProviderUnavailable(f"the discovery document has no {_DISCOVERED[attr]}")
        return value
    return import_from_settings(attr, *args)


def _enabled() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")


def _failed(request: HttpRequest, reason: str) -> HttpResponse:
    logger.warning("single sign-on failed: %s", reason)
    return HttpResponseRedirect(settings.LOGIN_REDIRECT_URL_FAILURE)


class SSOAuthenticationRequestView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/: off to the provider (state, nonce, PKCE in the session)."""

    get_settings = staticmethod(sso_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The endpoints are looked up per request (in get), not when the URLconf loads.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = sso_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as exc:
            return _failed(request, str(exc))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        response: HttpResponse = super().get(request)
        return response


class SSOCallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback/: the provider's answer; a failure goes back to the login page."""

    get_settings = staticmethod(sso_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled()
        try:
            response: HttpResponse = super().get(request)
        except (SuspiciousOperation, ProviderUnavailable, requests.RequestException) as exc:
            return _failed(request, str(exc))
        return response


class SSOBackend(OIDCAuthenticationBackend):
    """Turns a verified ID token and its userinfo into a user of ours, granting no role."""

    get_settings = staticmethod(sso_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Endpoints are read when a sign-in happens (discovery may need the network).
        self.UserModel = User

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if request is None or not settings.OIDC_ENABLED or "code" not in request.GET:
            return None
        try:
            self.OIDC_OP_TOKEN_ENDPOINT = sso_setting("OIDC_OP_TOKEN_ENDPOINT")
            self.OIDC_OP_USER_ENDPOINT = sso_setting("OIDC_OP_USER_ENDPOINT")
            self.OIDC_OP_JWKS_ENDPOINT = sso_setting("OIDC_OP_JWKS_ENDPOINT")
        except ProviderUnavailable as exc:
            raise SuspiciousOperation(str(exc)) from exc
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        if not self.OIDC_RP_CLIENT_SECRET:
            raise ImproperlyConfigured("OIDC_CLIENT_SECRET is not set.")
        user: User | None = super().authenticate(request, **kwargs)
        if user is not None:
            audit_record(
                actor=user,
                action=AuditAction.LOGIN_SSO,
                target=f"user:{user.pk}",
                details={"issuer": settings.OIDC_ISSUER},
                request=request,
            )
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = super().verify_token(token, **kwargs)
        except jwt.InvalidTokenError as exc:  # expired, not yet valid, malformed
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is for another client (aud).")
        issuer = settings.OIDC_ISSUER.rstrip("/")
        if issuer and str(payload.get("iss", "")).rstrip("/") != issuer:
            raise SuspiciousOperation("ID token is from another issuer (iss).")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # A link by e-mail is only as good as the provider's word that the address is theirs.
        email = claims.get("email")
        return bool(email) and claims.get("email_verified", True) is not False

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return User.objects.filter(email__iexact=claims["email"], is_active=True)

    def create_user(self, claims: dict[str, Any]) -> User:
        base = str(claims.get("preferred_username") or claims["email"].split("@")[0])
        base = _USERNAME_CHARS.sub("", base)[:140] or "user"
        username, n = base, 1
        while User.objects.filter(username__iexact=username).exists():
            n += 1
            username = f"{base}-{n}"
        user = User.objects.create_user(username, email=claims["email"])
        # Only the provider signs this person in: no password works for them here.
        user.set_unusable_password()
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.save()
        return user
