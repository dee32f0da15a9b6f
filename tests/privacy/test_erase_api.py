"""POST /api/v1/privacy/erase: who may call it, and what bad input gets."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Interaction, Project
from tests.conftest import KeyedProject, Persona
from tests.privacy.conftest import interaction, post

pytestmark = pytest.mark.django_db

URL = "/api/v1/privacy/erase"


@pytest.fixture
def stored(project: Project, ingest_client: APIClient) -> None:
    post(ingest_client, "/api/v1/interactions", interaction("req-1", user_id="u-1"))


def _erase(client: APIClient, project: Project, **body: Any) -> Any:
    return post(client, URL, {"project": project.name, **body})


@pytest.mark.parametrize("persona", ["annotator", "engineer"])
def test_members_who_are_not_leads_are_refused(
    request: pytest.FixtureRequest, project: Project, stored: None, persona: str
) -> None:
    member: Persona = request.getfixturevalue(persona)

    response = _erase(member.client(), project, user_id="u-1")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert Interaction.objects.count() == 1


def test_another_projects_lead_does_not_see_the_project(
    project: Project, stored: None, outsider: Persona
) -> None:
    response = _erase(outsider.client(), project, user_id="u-1")

    assert response.status_code == 404
    assert Interaction.objects.count() == 1


def test_anonymous_callers_are_refused(project: Project, stored: None) -> None:
    response = _erase(APIClient(), project, user_id="u-1")

    assert response.status_code == 401
    assert Interaction.objects.count() == 1


def test_an_ingestion_key_cannot_erase(
    project: Project, stored: None, keyed_project: KeyedProject
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed_project.key}")

    response = _erase(client, project, user_id="u-1")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert Interaction.objects.count() == 1


def test_a_lead_erases(project: Project, stored: None, lead: Persona) -> None:
    response = _erase(lead.client(), project, user_id="u-1")

    assert response.status_code == 200
    assert response.json()["erased"]["interactions"] == 1


def test_it_refuses_other_verbs(lead: Persona) -> None:
    assert lead.client().get(URL).status_code == 405


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "subject_required", "user_id"),
        ({"user_id": ""}, "subject_required", "user_id"),
        ({"session_id": None}, "subject_required", "user_id"),
        ({"user_id": "u-1", "session_id": "s-1"}, "one_subject", "session_id"),
        ({"user_id": 42}, "invalid_subject", "user_id"),
        ({"session_id": ["s-1"]}, "invalid_subject", "session_id"),
        ({"user_id": "u" * 256}, "invalid_subject", "user_id"),
        ({"user_id": "u-1", "email": "x"}, "unknown_field", "email"),
    ],
)
def test_bad_input_gets_a_specific_400(
    project: Project, stored: None, lead: Persona, body: dict[str, Any], code: str, field: str
) -> None:
    response = _erase(lead.client(), project, **body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["details"]
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize("body", [[], "u-1", {"user_id": "u-1"}, {"project": 7, "user_id": "u"}])
def test_a_body_without_a_project_name_is_refused(lead: Persona, body: Any) -> None:
    response = post(lead.client(), URL, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_body", "project_required")
