from __future__ import annotations

from typing import Any

from django.test import Client

from annotation.models import Role
from annotation.services.projects import member_upsert
from tests.conftest import KeyedProject, Persona
from tests.factories import FeedbackFactory, InteractionFactory

PAGES = [
    "/admin/annotation/project/",
    "/admin/annotation/projectkey/",
    "/admin/annotation/membership/",
    "/admin/annotation/interaction/",
    "/admin/annotation/feedback/",
]


def login(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_a_lead_sees_every_model_of_their_project(lead: Persona, project: Any) -> None:
    interaction = InteractionFactory(project=project, request_id="mine-1")
    FeedbackFactory(interaction=interaction)
    client = login(lead)

    for page in PAGES:
        assert client.get(page).status_code == 200, page
    assert b"mine-1" in client.get("/admin/annotation/interaction/").content
    assert client.get(f"/admin/annotation/interaction/{interaction.pk}/change/").status_code == 200


def test_a_lead_does_not_see_other_projects(
    lead: Persona, project: Any, other_keyed_project: KeyedProject
) -> None:
    theirs = InteractionFactory(project=other_keyed_project.project, request_id="theirs-1")
    client = login(lead)

    assert b"theirs-1" not in client.get("/admin/annotation/interaction/").content
    assert client.get(f"/admin/annotation/interaction/{theirs.pk}/change/").status_code == 302


def test_an_annotator_cannot_enter_the_admin(annotator: Persona) -> None:
    response = login(annotator).get("/admin/annotation/interaction/")

    assert response.status_code == 302


def test_a_staff_user_who_leads_nothing_sees_no_models(project: Any) -> None:
    created = member_upsert(username="former", project=project, role=Role.LEAD)
    created.obj.user.memberships.update(role=Role.ANNOTATOR)
    client = Client()
    client.force_login(created.obj.user)

    assert client.get("/admin/annotation/interaction/").status_code == 403


def test_a_lead_reads_every_review_and_export_record(lead: Persona, project: Any) -> None:
    client = login(lead)

    for page in [
        "/admin/annotation/check/",
        "/admin/annotation/flag/",
        "/admin/annotation/guideline/",
        "/admin/annotation/queue/",
        "/admin/annotation/queuefill/",
        "/admin/annotation/queueitem/",
        "/admin/annotation/annotation/",
        "/admin/annotation/lease/",
        "/admin/annotation/adjudication/",
        "/admin/annotation/agreementreport/",
        "/admin/annotation/export/",
        "/admin/annotation/auditevent/",
    ]:
        assert client.get(page).status_code == 200, page
