"""The lead's keys page and everyone's tokens page: full page, htmx partials, roles, and the
secret shown once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from annotation.models import ApiToken, AuditEvent, ProjectKey
from tests.conftest import KeyedProject, Persona

KEYS = "/lead/projects/support-bot/keys"
TOKENS = "/account/tokens"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_the_keys_page_lists_prefixes_and_never_a_secret(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    response = browser(lead).get(KEYS)

    html = response.content.decode()
    key = ProjectKey.objects.get(project=keyed_project.project)
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert f"<code>{key.prefix}…</code>" in html
    assert keyed_project.key not in html and key.key_hash not in html


def test_a_lead_creates_a_key_and_sees_it_once_as_an_htmx_partial(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    client = browser(lead)

    created = client.post(f"{KEYS}/new", {"name": "mobile-app"}, HTTP_HX_REQUEST="true")

    html = created.content.decode()
    assert created.status_code == 201 and "<html" not in html
    new = ProjectKey.objects.get(name="mobile-app")
    secret = html.split('<code class="secret-value">', 1)[1].split("</code>", 1)[0]
    assert secret.startswith(new.prefix + "_")
    assert secret not in client.get(KEYS).content.decode()
    assert AuditEvent.objects.filter(action="key.created", actor=lead.user).exists()


def test_a_lead_rotates_with_grace_and_revokes_from_the_page(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    client = browser(lead)
    key = ProjectKey.objects.get(project=keyed_project.project)

    rotated = client.post(
        f"{KEYS}/{key.pk}/rotate", {"grace_minutes": "60"}, HTTP_HX_REQUEST="true"
    )
    key.refresh_from_db()
    assert rotated.status_code == 201 and key.expires_at is not None and key.revoked_at is None

    revoked = client.post(f"{KEYS}/{key.pk}/revoke", HTTP_HX_REQUEST="true")
    key.refresh_from_db()
    assert revoked.status_code == 200 and key.revoked_at is not None
    again = client.post(f"{KEYS}/{key.pk}/revoke", HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and "already revoked" in again.content.decode()
    plain = client.post(f"{KEYS}/{key.pk}/revoke")
    assert plain.status_code == 409


def test_a_bad_grace_period_is_shown_on_the_page(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    key = ProjectKey.objects.get(project=keyed_project.project)

    response = browser(lead).post(f"{KEYS}/{key.pk}/rotate", {"grace_minutes": "forever"})

    assert response.status_code == 400 and "grace_minutes" in response.content.decode()
    assert ProjectKey.objects.count() == 1


def test_keys_pages_are_for_leads_of_the_project(
    keyed_project: KeyedProject, engineer: Persona, outsider: Persona, other_keyed_project: Any
) -> None:
    mine = ProjectKey.objects.get(project=keyed_project.project)
    theirs = ProjectKey.objects.get(project=other_keyed_project.project)

    assert browser(engineer).get(KEYS).status_code == 403
    assert browser(outsider).get(KEYS).status_code == 404
    assert browser(outsider).post(f"{KEYS}/{mine.pk}/revoke").status_code == 404
    # A key of another project through this project's URL does not exist here.
    lead_of_other = browser(outsider)
    other_url = f"/lead/projects/other-bot/keys/{mine.pk}/revoke"
    assert lead_of_other.post(other_url).status_code == 404
    assert ProjectKey.objects.get(pk=mine.pk).revoked_at is None
    assert ProjectKey.objects.get(pk=theirs.pk).revoked_at is None
    assert Client().get(KEYS).status_code == 302


def test_a_person_manages_their_own_tokens(annotator: Persona) -> None:
    client = browser(annotator)

    page = client.get(TOKENS)
    created = client.post(
        f"{TOKENS}/new", {"name": "laptop", "expires_in_days": "7"}, HTTP_HX_REQUEST="true"
    )

    assert page.status_code == 200 and "HX-Request" in page["Vary"]
    assert created.status_code == 201 and 'id="new-token"' in created.content.decode()
    token = ApiToken.objects.get(user=annotator.user, name="laptop")
    assert token.expires_at is not None
    assert client.post(f"{TOKENS}/{token.pk}/rotate").status_code == 201
    assert client.post(f"{TOKENS}/{token.pk}/revoke").status_code == 409
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_a_bad_token_form_says_what_to_fix(annotator: Persona) -> None:
    response = browser(annotator).post(
        f"{TOKENS}/new", {"name": "x", "expires_in_days": "999"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 400
    assert "expires_in_days" in response.content.decode()


def test_nobody_touches_someone_elses_token(annotator: Persona, lead: Persona) -> None:
    theirs = ApiToken.objects.get(user=lead.user)

    assert browser(annotator).post(f"{TOKENS}/{theirs.pk}/revoke").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert Client().get(TOKENS).status_code == 302
