"""A project's privacy settings: the API, the lead's page, the admin; validated everywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import PrivacyMode, Project
from annotation.services.retention import retention_enforce
from tests.conftest import Persona
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/privacy/settings"


def _page(name: str = "support-bot") -> str:
    return f"/lead/projects/{name}/privacy"


def _browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_a_lead_reads_the_settings_and_the_latest_runs(project: Project, lead: Persona) -> None:
    project.retention_days = 1
    project.save(update_fields=["retention_days"])
    InteractionFactory(project=project, timestamp=timezone.now() - timedelta(days=2))
    retention_enforce(project=project)

    body = lead.client().get(API, {"project": project.name}).json()

    assert body["privacy_mode"] == "store"
    assert body["retention_days"] == 1
    assert body["keep_reviewed"] is False
    assert body["retention_runs"][0]["deleted"]["interactions"] == 1
    assert body["retention_runs"][0]["kept"] == 0


def test_a_lead_changes_the_settings(project: Project, lead: Persona) -> None:
    response = lead.client().patch(
        f"{API}?project={project.name}",
        {"privacy_mode": "redact", "retention_days": 90, "keep_reviewed": True},
        format="json",
    )

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.privacy_mode == PrivacyMode.REDACT
    assert project.retention_days == 90
    assert project.keep_reviewed is True
    assert response.json()["privacy_mode"] == "redact"


def test_null_retention_keeps_everything(project: Project, lead: Persona) -> None:
    project.retention_days = 30
    project.save(update_fields=["retention_days"])

    lead.client().patch(f"{API}?project={project.name}", {"retention_days": None}, format="json")

    project.refresh_from_db()
    assert project.retention_days is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"privacy_mode": "encrypt"}, "privacy_mode"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 36501}, "retention_days"),
        ({"retention_days": "soon"}, "retention_days"),
        ({"retention_days": 1.5}, "retention_days"),
        ({"retention_days": True}, "retention_days"),
        ({"keep_reviewed": "yes"}, "keep_reviewed"),
        ({"retention": 30}, "retention"),
    ],
)
def test_bad_settings_are_refused_by_field(
    project: Project, lead: Persona, body: dict[str, Any], field: str
) -> None:
    response = lead.client().patch(f"{API}?project={project.name}", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_settings"
    assert field in error["details"]
    project.refresh_from_db()
    assert project.privacy_mode == "store" and project.retention_days is None


@pytest.mark.parametrize("persona", ["annotator", "engineer"])
def test_only_leads_read_or_change_them(
    request: pytest.FixtureRequest, project: Project, persona: str
) -> None:
    member: Persona = request.getfixturevalue(persona)

    assert member.client().get(API, {"project": project.name}).status_code == 403
    response = member.client().patch(
        f"{API}?project={project.name}", {"privacy_mode": "redact"}, format="json"
    )
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.privacy_mode == "store"


def test_other_projects_and_anonymous_callers_get_nothing(
    project: Project, outsider: Persona
) -> None:
    assert outsider.client().get(API, {"project": project.name}).status_code == 404
    assert APIClient().get(API, {"project": project.name}).status_code == 401
    assert outsider.client().get(API).status_code == 404


def test_the_page_shows_the_settings_and_the_runs(project: Project, lead: Persona) -> None:
    project.retention_days = 1
    project.save(update_fields=["retention_days"])
    InteractionFactory(project=project, timestamp=timezone.now() - timedelta(days=2))
    retention_enforce(project=project)

    response = _browser(lead).get(_page())

    assert response.status_code == 200
    html = response.content.decode()
    assert "Privacy of support-bot" in html
    assert 'value="redact"' in html
    assert "interactions: 1" in html
    assert response["Vary"].count("HX-Request") == 1


def test_the_runs_partial_answers_htmx(project: Project, lead: Persona) -> None:
    response = _browser(lead).get(f"{_page()}/runs", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="retention-runs"')
    assert "No retention run yet" in html


def test_a_lead_saves_the_settings_from_the_page(project: Project, lead: Persona) -> None:
    response = _browser(lead).post(
        _page(), {"privacy_mode": "drop_prompt", "retention_days": "14", "keep_reviewed": "on"}
    )

    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.privacy_mode, project.retention_days, project.keep_reviewed) == (
        "drop_prompt",
        14,
        True,
    )


def test_the_page_names_a_bad_field_and_keeps_the_form(project: Project, lead: Persona) -> None:
    client = _browser(lead)

    full = client.post(_page(), {"privacy_mode": "store", "retention_days": "-3"})
    partial = client.post(
        _page(), {"privacy_mode": "nope", "retention_days": "7"}, HTTP_HX_REQUEST="true"
    )

    assert full.status_code == 400
    assert "A whole number of days" in full.content.decode()
    assert partial.status_code == 200
    assert partial.content.decode().lstrip().startswith('<form id="privacy-settings"')
    assert "Use one of: store, redact, drop_prompt." in partial.content.decode()
    project.refresh_from_db()
    assert project.retention_days is None


def test_the_page_is_for_leads_only(
    project: Project, annotator: Persona, engineer: Persona, outsider: Persona
) -> None:
    assert _browser(annotator).get(_page()).status_code == 403
    assert _browser(engineer).post(_page(), {"privacy_mode": "redact"}).status_code == 403
    assert _browser(outsider).get(_page()).status_code == 404
    anonymous = Client().get(_page())
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    project.refresh_from_db()
    assert project.privacy_mode == "store"


def test_the_page_refuses_other_verbs(project: Project, lead: Persona) -> None:
    assert _browser(lead).put(_page()).status_code == 405
    assert _browser(lead).post(f"{_page()}/runs").status_code == 405


def test_the_admin_validates_the_privacy_fields(project: Project) -> None:
    from django.contrib.admin.sites import site

    from annotation.models import Project as ProjectModel

    form_class = site._registry[ProjectModel].get_form(None, project)  # type: ignore[arg-type]
    data = {
        "name": project.name,
        "taxonomy": '[{"name": "incorrect", "negative": true}]',
        "privacy_mode": "shred",
        "retention_days": "0",
    }
    form = form_class(data=data, instance=project)

    assert not form.is_valid()
    assert "privacy_mode" in form.errors
    assert "retention_days" in form.errors
