"""Every sensitive action leaves an audit event naming who, what, where and from which address.

(Export downloads: tests/exports/test_export_api.py; keys: tests/security/test_keys_and_tokens.py;
sign-in failures: tests/security/test_login_throttle.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from annotation.models import AuditEvent, Project, Role
from annotation.services.projects import member_upsert, membership_set
from tests.conftest import Persona
from tests.factories import InteractionFactory
from tests.review.conftest import REVIEW_SCHEMA


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def only(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


def test_building_an_export_is_audited(project: Project, engineer: Persona) -> None:
    response = engineer.client().post(
        "/api/v1/exports",
        {"project": "support-bot", "kind": "sft", "format": "jsonl"},
        format="json",
        REMOTE_ADDR="10.2.3.4",
    )

    assert response.status_code == 202, response.content
    event = only("export.created")
    assert event.actor == engineer.user and event.actor_label == "engineer"
    assert event.project == project and event.target == f"export:{response.json()['id']}"
    assert event.details == {"kind": "sft", "format": "jsonl"}
    assert event.ip_address == "10.2.3.4"


def test_creating_and_changing_a_queue_is_audited(
    project: Project, lead: Persona, annotator: Persona
) -> None:
    created = lead.client().post(
        "/api/v1/queues",
        {
            "project": "support-bot",
            "name": "Weekly",
            "sources": [{"type": "low_rated", "threshold": 0.4}],
            "annotators": ["annotator"],
            "schema": REVIEW_SCHEMA,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    queue_id = created.json()["id"]

    changed = lead.client().patch(
        f"/api/v1/queues/{queue_id}", {"state": "paused", "overlap": 2}, format="json"
    )

    assert changed.status_code == 200, changed.content
    made = only("queue.created")
    assert made.actor == lead.user and made.target == f"queue:{queue_id}"
    assert made.details["annotators"] == ["annotator"]
    change = only("queue.changed")
    assert change.actor == lead.user and change.project == project
    assert change.details == {"fields": ["overlap", "state"], "state": "paused"}


def test_creating_and_changing_a_check_is_audited(project: Project, lead: Persona) -> None:
    client = lead.client()
    created = client.post(
        "/api/v1/checks",
        {"project": "support-bot", "name": "no-pii", "type": "pii", "severity": "critical"},
        format="json",
    )
    assert created.status_code == 201, created.content

    changed = client.patch(
        f"/api/v1/checks/{created.json()['id']}", {"enabled": False}, format="json"
    )

    assert changed.status_code == 200, changed.content
    made = only("check.created")
    assert made.actor == lead.user and made.details["name"] == "no-pii"
    change = only("check.changed")
    assert change.actor == lead.user and change.details["enabled"] is False
    assert change.target == f"check:{created.json()['id']}"


def test_publishing_a_guideline_is_audited(project: Project, lead: Persona) -> None:
    response = lead.client().post(
        "/api/v1/guidelines", {"project": "support-bot", "text": "# Be fair"}, format="json"
    )

    assert response.status_code == 201, response.content
    event = only("guideline.published")
    assert event.actor == lead.user and event.project == project
    assert event.details == {"version": 1, "characters": len("# Be fair")}


def test_an_erasure_is_audited_with_counts_only(project: Project, lead: Persona) -> None:
    InteractionFactory(project=project, request_id="req-1", user_id="u-42")

    response = lead.client().post(
        "/api/v1/privacy/erase", {"project": "support-bot", "user_id": "u-42"}, format="json"
    )

    assert response.status_code == 200, response.content
    event = only("privacy.erase")
    assert event.actor == lead.user and event.project == project
    assert "u-42" not in str(event.details)


def test_a_role_change_is_audited_once_per_change(project: Project, lead: Persona) -> None:
    member_upsert(username="newcomer", project=project, role=Role.ANNOTATOR)
    newcomer = User.objects.get(username="newcomer")

    membership_set(project=project, user=newcomer, role=Role.ENGINEER, actor=lead.user)
    membership_set(project=project, user=newcomer, role=Role.ENGINEER, actor=lead.user)

    events = AuditEvent.objects.filter(
        action="membership.role_changed", target_type="user", target_id=str(newcomer.pk)
    )
    assert [(e.details["from"], e.details["to"]) for e in events.order_by("id")] == [
        (None, "annotator"),
        ("annotator", "engineer"),
    ]
    assert events.order_by("id").last().actor == lead.user  # type: ignore[union-attr]


def test_a_role_changed_in_the_admin_names_the_lead(project: Project, lead: Persona) -> None:
    from django.test import Client

    member_upsert(username="helper", project=project, role=Role.ANNOTATOR)
    helper = User.objects.get(username="helper")
    membership = helper.memberships.get()
    client = Client()
    client.force_login(lead.user)

    response = client.post(
        f"/admin/annotation/membership/{membership.pk}/change/", {"role": "engineer"}
    )

    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.filter(action="membership.role_changed").latest("id")
    assert event.actor == lead.user and event.details["to"] == "engineer"


def test_commands_are_recorded_as_the_system(db: Any) -> None:
    from django.core.management import call_command

    call_command("createproject", "cli-bot", stdout=open("/dev/null", "w"))  # noqa: SIM115

    event = only("key.created")
    assert event.actor is None and event.actor_label == "system"
    assert event.project is not None and event.project.name == "cli-bot"
