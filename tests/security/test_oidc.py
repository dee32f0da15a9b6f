"""Single sign-on through OpenID Connect, against a fake provider on 127.0.0.1 over real HTTP,
driven through the real login flow: our authenticate URL, the provider's authorize redirect,
our callback exchanging the code (PKCE), the signed ID token checked against the JWKS, userinfo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from annotation.models import AuditEvent, Membership, Project, Role
from annotation.services.projects import membership_set
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider, fake_oidc_provider


@pytest.fixture
def provider(settings: Any, db: Any) -> Iterator[FakeProvider]:
    cache.clear()
    with fake_oidc_provider() as fake:
        settings.OIDC_ENABLED = True
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_ISSUER = fake.base_url
        settings.AUTHENTICATION_BACKENDS = [
            "annotation.auth_backends.ThrottledModelBackend",
            "annotation.sso.SSOBackend",
        ]
        yield fake


def sign_in(client: Client, next_url: str = "/account/tokens") -> Any:
    """The whole round trip; returns our callback's answer."""
    start = client.get("/oidc/authenticate/", {"next": next_url})
    assert start.status_code == 302, start.content
    asked = parse_qs(urlsplit(start["Location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"][0]
    assert asked["redirect_uri"] == ["http://testserver/oidc/callback/"]
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    return client.get(back.path, parse_qs(back.query))


def test_a_new_person_signs_in_and_is_granted_nothing(provider: FakeProvider) -> None:
    client = Client()

    answer = sign_in(client)

    assert answer.status_code == 302 and answer["Location"] == "/account/tokens"
    user = User.objects.get(email="dana@example.com")
    assert user.username == "dana" and user.first_name == "Dana"
    assert not user.has_usable_password()
    assert not Membership.objects.filter(user=user).exists() and not user.is_staff
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.get("/account/tokens").status_code == 200
    assert client.get("/lead/projects/support-bot/audit").status_code == 404
    event = AuditEvent.objects.get(action="login.sso")
    assert event.actor == user and event.details["issuer"] == provider.base_url
    assert provider.requests[:2] == ["GET /.well-known/openid-configuration", "GET /authorize"]
    assert {"POST /token", "GET /jwks", "GET /userinfo"} <= set(provider.requests)


def test_an_existing_user_is_linked_by_email_and_keeps_their_roles(
    provider: FakeProvider, project: Project
) -> None:
    existing = User.objects.create_user("dscully", email="Dana@Example.com", password="pw-x")
    membership_set(project=project, user=existing, role=Role.LEAD)
    client = Client()

    assert sign_in(client).status_code == 302

    assert User.objects.filter(email__iexact="dana@example.com").count() == 1
    assert int(client.session["_auth_user_id"]) == existing.pk
    assert client.get("/lead/projects/support-bot/audit").status_code == 200


def test_a_username_already_taken_gets_a_suffix(provider: FakeProvider) -> None:
    User.objects.create_user("dana", email="someone-else@example.com")

    sign_in(Client())

    assert User.objects.get(email="dana@example.com").username == "dana-2"


@pytest.mark.parametrize(
    "spoil",
    ["foreign_key", "wrong_audience", "wrong_issuer", "expired", "unverified_email"],
)
def test_a_token_that_does_not_check_out_signs_nobody_in(
    provider: FakeProvider, spoil: str
) -> None:
    if spoil == "foreign_key":
        provider.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif spoil == "wrong_audience":
        provider.id_token_claims = {"aud": "someone-else"}
    elif spoil == "wrong_issuer":
        provider.id_token_claims = {"iss": "https://evil.example.com"}
    elif spoil == "expired":
        provider.id_token_claims = {"exp": 1_000_000_000}
    else:
        provider.claims["email_verified"] = False
    client = Client()

    answer = sign_in(client)

    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/?sso=failed"
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email="dana@example.com").exists()
    page = client.get(answer["Location"])
    assert b"Single sign-on did not complete" in page.content


def test_a_callback_with_a_state_we_did_not_issue_is_refused(provider: FakeProvider) -> None:
    client = Client()
    client.get("/oidc/authenticate/")

    answer = client.get("/oidc/callback/", {"code": "x", "state": "forged"})

    assert answer.status_code == 302 and "sso=failed" in answer["Location"]
    assert "_auth_user_id" not in client.session


def test_an_unreachable_provider_sends_back_to_login(settings: Any, db: Any) -> None:
    cache.clear()
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_ISSUER = "http://127.0.0.1:9"

    answer = Client().get("/oidc/authenticate/")

    assert answer.status_code == 302 and "sso=failed" in answer["Location"]


def test_the_login_page_offers_sso_only_when_configured(
    provider: FakeProvider, settings: Any
) -> None:
    offered = Client().get("/accounts/login/", {"next": "/account/tokens"})
    assert b'id="sso-login"' in offered.content
    assert b"/oidc/authenticate/?next=/account/tokens" in offered.content.replace(b"%2F", b"/")

    settings.OIDC_ENABLED = False
    assert b'id="sso-login"' not in Client().get("/accounts/login/").content
    assert Client().get("/oidc/authenticate/").status_code == 404
