"""The audit log cannot be altered: not by the ORM, not in the admin, not by SQL on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.client import RequestFactory

from annotation.models import AuditEvent, Project
from annotation.models.audit import AuditAction, AuditImmutable
from annotation.services.audit import audit_record
from tests.conftest import Persona
from tests.factories import UserFactory


@pytest.fixture
def event(project: Project, lead: Persona) -> AuditEvent:
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.7")
    return audit_record(
        actor=lead.user,
        action=AuditAction.EXPORT_CREATED,
        project=project,
        target="export:42",
        details={"kind": "sft"},
        request=request,
    )


def test_it_records_who_what_where_and_from_which_address(
    event: AuditEvent, project: Project, lead: Persona
) -> None:
    stored = AuditEvent.objects.get(pk=event.pk)

    assert (stored.actor, stored.actor_label, stored.action) == (
        lead.user,
        "lead",
        "export.created",
    )
    assert (stored.project, stored.target_type, stored.target_id) == (project, "export", "42")
    assert stored.target == "export:42"
    assert stored.details == {"kind": "sft"}
    assert stored.ip_address == "10.0.0.7"


def test_it_refuses_an_unknown_action_and_oversized_details(db: Any) -> None:
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(actor=None, action="export.deleted")
    with pytest.raises(ValueError, match="over 16384 bytes"):
        audit_record(actor=None, action="login.failed", details={"x": "a" * 20_000})
    assert not AuditEvent.objects.exists()


def test_a_failed_login_records_the_name_tried_without_a_user(db: Any) -> None:
    event = audit_record(actor=None, action="login.failed", actor_label="mallory")

    assert event.actor is None and event.actor_label == "mallory"


def test_the_orm_cannot_change_or_delete_an_event(event: AuditEvent) -> None:
    event.action = "export.download"
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        event.delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(action="export.download")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(project=None, action="x")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEvent._base_manager.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.bulk_update([event], ["action"])

    assert AuditEvent.objects.get(pk=event.pk).action == "export.created"


def test_deleting_the_project_or_the_user_keeps_the_event_and_its_label(
    event: AuditEvent, project: Project, lead: Persona
) -> None:
    project.delete()
    lead.user.delete()

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.project_id is None and stored.actor_id is None
    assert stored.actor_label == "lead" and stored.action == "export.created"


def test_the_admin_shows_events_and_offers_no_change_or_delete(event: AuditEvent) -> None:
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)

    listing = client.get("/admin/annotation/auditevent/")
    assert listing.status_code == 200
    assert b"export.created" in listing.content or b"Export created" in listing.content
    page = client.get(f"/admin/annotation/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get(f"/admin/annotation/auditevent/{event.pk}/delete/").status_code == 403
    assert client.post(f"/admin/annotation/auditevent/{event.pk}/change/", {}).status_code == 403
    bulk = client.post(
        "/admin/annotation/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE annotation_auditevent SET action = 'export.download' WHERE id = %s",
        "UPDATE annotation_auditevent SET metadata = '{}'::jsonb WHERE id = %s",
        "UPDATE annotation_auditevent SET actor_label = 'someone' WHERE id = %s",
        "UPDATE annotation_auditevent SET project_id = NULL, action = 'x' WHERE id = %s",
        "DELETE FROM annotation_auditevent WHERE id = %s",
    ],
)
def test_sql_on_postgresql_cannot_change_or_delete_an_event(event: AuditEvent, sql: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.action == "export.created" and stored.metadata == {"kind": "sft"}


@pytest.mark.postgresql
def test_sql_on_postgresql_may_only_clear_a_reference(event: AuditEvent, project: Project) -> None:
    other = Project.objects.create(name="elsewhere")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE annotation_auditevent SET project_id = %s WHERE id = %s",
            [other.pk, event.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotation_auditevent SET project_id = NULL WHERE id = %s", [event.pk]
        )
    assert AuditEvent.objects.get(pk=event.pk).project_id is None
