"""The admin saves checks through the same service as the API, outside a long transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from annotation.models import AuditEvent, Check, Interaction, Project
from annotation.models.audit import AuditAction
from tests.conftest import Persona
from tests.factories import InteractionFactory

FORM = {
    "name": "short",
    "type": "format",
    "parameters": '{"max_chars": 500}',
    "severity": 20,
    "enabled": "on",
    "sample_rate": "1",
}


@pytest.fixture
def admin_client(lead: Persona, settings: Any) -> Client:
    settings.SECURE_SSL_REDIRECT = False
    client = Client()
    client.force_login(lead.user)
    return client


def test_adding_and_changing_a_check_in_the_admin_records_what_the_service_records(
    admin_client: Client, project: Project
) -> None:
    assert (
        admin_client.post(
            "/admin/annotation/check/add/", {**FORM, "project": project.pk}
        ).status_code
        == 302
    )
    check = Check.objects.get(project=project, name="short")

    changed = {**FORM, "parameters": '{"max_chars": 80}'}
    response = admin_client.post(f"/admin/annotation/check/{check.pk}/change/", changed)

    assert response.status_code == 302
    check.refresh_from_db()
    assert check.parameters["max_chars"] == 80
    actions = list(
        AuditEvent.objects.filter(target_type="check", target_id=str(check.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [AuditAction.CHECK_CREATED, AuditAction.CHECK_CHANGED]


def test_the_check_form_is_validated_outside_a_transaction(
    admin_client: Client, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation (which for a judge calls its endpoint) runs with no transaction of the admin's
    open beyond the test's own, so a slow endpoint holds no row locks."""
    from annotation.admin import CheckAdminForm

    depths: list[int] = []
    original = CheckAdminForm.clean

    def clean(self: CheckAdminForm) -> dict[str, Any]:
        depths.append(len(connection.savepoint_ids))
        return original(self)

    monkeypatch.setattr(CheckAdminForm, "clean", clean)
    admin_client.post("/admin/annotation/check/add/", {**FORM, "project": project.pk})

    assert depths == [0]


def test_interactions_cannot_be_edited_in_the_admin(admin_client: Client, project: Project) -> None:
    interaction = InteractionFactory(project=project, response="as sent")

    response = admin_client.post(
        f"/admin/annotation/interaction/{interaction.pk}/change/",
        {
            "response": "rewritten",
            "feedback_set-TOTAL_FORMS": "0",
            "feedback_set-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code in (200, 302)
    assert Interaction.objects.get(pk=interaction.pk).response == "as sent"
