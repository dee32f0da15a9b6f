"""A form posted after the session expired: kept, the person sent to log in with `next=` the
page the form was on (htmx: HX-Redirect), and the fields handed back once to that page."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.sessions.models import Session
from django.test import Client

from annotation.models.review import Guideline
from tests.conftest import Persona

PAGE = "/lead/projects/support-bot/guidelines"
PREVIEW = "/lead/projects/support-bot/guidelines/preview"


def expired(lead: Persona) -> Client:
    """A browser that was signed in, whose session has since expired on the server."""
    client = Client()
    client.force_login(lead.user)
    Session.objects.all().delete()
    return client


def test_a_plain_post_with_an_expired_session_goes_to_login_and_back_to_the_page(
    lead: Persona,
) -> None:
    client = expired(lead)

    response = client.post(
        PAGE,
        {"text": "A long guideline I typed.", "base_version": "0"},
        HTTP_REFERER=f"http://testserver{PAGE}",
    )

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"
    assert not Guideline.objects.exists()
    login_page = client.get(response["Location"])
    assert b'id="form-kept"' in login_page.content

    client.post("/accounts/login/", {"username": "lead", "password": "pw-0123456789", "next": PAGE})
    page = client.get(PAGE)
    assert b"js/form_rescue.js" in page.content
    kept = client.get("/account/rescued-form", {"page": PAGE})
    assert kept.status_code == 200
    assert json.loads(kept.content) == {
        "action": PAGE,
        "fields": {"text": ["A long guideline I typed."], "base_version": ["0"]},
    }
    assert client.get("/account/rescued-form", {"page": PAGE}).status_code == 204
    assert b"js/form_rescue.js" not in client.get(PAGE).content


def test_an_htmx_post_gets_hx_redirect_instead_of_the_login_page_in_a_fragment(
    lead: Persona,
) -> None:
    client = expired(lead)

    response = client.post(
        PREVIEW,
        {"text": "Draft", "base_version": "0"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{PAGE}?tab=edit",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/accounts/login/?next={PAGE}%3Ftab%3Dedit"
    session_data = client.session["rescued_form"]
    assert session_data["page"] == f"{PAGE}?tab=edit" and session_data["action"] == PREVIEW


def test_kept_fields_go_only_to_the_page_they_came_from(lead: Persona) -> None:
    client = expired(lead)
    client.post(PAGE, {"text": "x", "base_version": "0"}, HTTP_REFERER=f"http://testserver{PAGE}")
    client.post("/accounts/login/", {"username": "lead", "password": "pw-0123456789"})

    assert client.get("/account/rescued-form", {"page": "/elsewhere"}).status_code == 204
    assert client.get("/account/rescued-form", {"page": PAGE}).status_code == 200


def test_a_referer_from_another_site_is_not_followed(lead: Persona) -> None:
    client = expired(lead)

    response = client.post(
        PAGE, {"text": "x", "base_version": "0"}, HTTP_REFERER="https://evil.example.com/page"
    )

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"
    assert "rescued_form" not in client.session


def test_the_csrf_token_and_oversized_forms_are_not_kept(lead: Persona) -> None:
    client = expired(lead)
    client.post(
        PAGE,
        {"text": "x" * 70_000, "base_version": "0"},
        HTTP_REFERER=f"http://testserver{PAGE}",
    )
    assert "rescued_form" not in client.session

    client.post(
        PAGE,
        {"text": "short", "csrfmiddlewaretoken": "t0k3n"},
        HTTP_REFERER=f"http://testserver{PAGE}",
    )
    assert client.session["rescued_form"]["fields"] == {"text": ["short"]}


def test_signed_in_posts_and_the_api_are_left_alone(lead: Persona) -> None:
    client = Client()
    client.force_login(lead.user)

    response = client.post(PAGE, {"text": "# v1", "base_version": "0"})
    api: Any = Client().post("/api/v1/guidelines", {}, content_type="application/json")

    assert response.status_code == 302 and response["Location"].startswith(PAGE)
    assert "rescued_form" not in client.session
    assert api.status_code == 401
