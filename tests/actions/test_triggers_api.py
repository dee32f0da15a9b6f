"""The triggers API: create, read, change, delete, runs and a manual run; bad input named."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Project, Trigger, Webhook
from annotation.services.trigger_config import trigger_create
from tests.actions.conftest import make_webhook
from tests.actions.triggers_data import Examples
from tests.conftest import KeyedProject, Persona

pytestmark = pytest.mark.django_db


@pytest.fixture
def examples(project: Project) -> Examples:
    return Examples(project)


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def body(examples: Examples, webhook: Webhook, **data: Any) -> dict[str, Any]:
    return {
        "project": "support-bot",
        "name": "nightly SFT",
        "export": {"kind": "sft", "format": "jsonl", "filters": {"queues": [examples.queue_id]}},
        "min_new_examples": 500,
        "webhooks": [webhook.pk],
        **data,
    }


def test_a_lead_creates_a_trigger(lead: Persona, examples: Examples, webhook: Webhook) -> None:
    response = lead.client().post("/api/v1/triggers", body(examples, webhook), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["webhooks"] == [webhook.pk] and created["watermark"] is None
    assert created["export"]["kind"] == "sft" and created["min_new_examples"] == 500
    listed = lead.client().get("/api/v1/triggers?project=support-bot").json()
    assert [t["id"] for t in listed] == [created["id"]]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"export": {"kind": "essay"}}, "unknown_kind", "export.kind"),
        ({"export": {"kind": "sft", "format": "xml"}}, "unknown_format", "export.format"),
        ({"export": "sft"}, "invalid", "export"),
        ({"export": {"project": "other-bot", "kind": "sft"}}, "invalid", "export.project"),
        ({"min_new_examples": 0}, "invalid", "min_new_examples"),
        ({"min_new_examples": "many"}, "invalid", "min_new_examples"),
        ({"webhooks": ["x"]}, "invalid", "webhooks"),
        ({"webhooks": [999999]}, "unknown_webhook", "webhooks"),
        ({"name": ""}, "invalid", "name"),
        ({"when": "nightly"}, "invalid", "when"),
    ],
)
def test_bad_input_gets_a_specific_400(
    lead: Persona,
    examples: Examples,
    webhook: Webhook,
    change: dict[str, Any],
    code: str,
    field: str,
) -> None:
    response = lead.client().post(
        "/api/v1/triggers", body(examples, webhook, **change), format="json"
    )
    assert response.status_code == 400, response.json()
    assert error(response)["code"] == code
    assert field in error(response)["details"]
    assert not Trigger.objects.exists()


def test_another_projects_webhook_cannot_be_named(
    lead: Persona, examples: Examples, webhook: Webhook, other_keyed_project: KeyedProject
) -> None:
    theirs = make_webhook(other_keyed_project.project, "http://127.0.0.1:9/x", name="theirs")
    response = lead.client().post(
        "/api/v1/triggers", body(examples, webhook, webhooks=[theirs.pk]), format="json"
    )
    assert response.status_code == 400
    assert error(response)["details"]["webhooks"] == {
        "0": [f"No webhook {theirs.pk} in this project."]
    }


def make(project: Project, examples: Examples, **data: Any) -> Trigger:
    return trigger_create(
        project=project,
        created_by=None,
        data={
            "name": "t",
            "export": {"kind": "sft", "filters": {"queues": [examples.queue_id]}},
            "min_new_examples": 2,
            **data,
        },
    )


def test_roles(
    project: Project,
    examples: Examples,
    lead: Persona,
    engineer: Persona,
    annotator: Persona,
    outsider: Persona,
) -> None:
    trigger = make(project, examples)
    detail = f"/api/v1/triggers/{trigger.pk}"
    assert engineer.client().get(detail).status_code == 200
    assert engineer.client().get(f"{detail}/runs").status_code == 200
    assert engineer.client().patch(detail, {"active": False}, format="json").status_code == 403
    assert engineer.client().post(f"{detail}/runs").status_code == 403
    assert annotator.client().get(detail).status_code == 403
    assert annotator.client().get("/api/v1/triggers").json() == []
    for response in (
        outsider.client().get(detail),
        outsider.client().patch(detail, {"active": False}, format="json"),
        outsider.client().delete(detail),
        outsider.client().post(f"{detail}/runs"),
    ):
        assert response.status_code == 404
    anonymous = APIClient().get(detail)
    assert anonymous.status_code in (401, 403)
    assert error(anonymous)["code"] == "not_authenticated"
    assert lead.client().patch(detail, {"min_new_examples": 9}, format="json").status_code == 200
    assert lead.client().delete(detail).status_code == 204


def test_a_manual_run_fires_only_with_new_examples(
    project: Project, examples: Examples, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    trigger = make(project, examples, min_new_examples=100)
    client = lead.client()
    assert client.post(f"/api/v1/triggers/{trigger.pk}/runs").status_code == 204
    examples.add(1)  # fewer than min_new_examples: a manual run needs one
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/triggers/{trigger.pk}/runs")
    assert response.status_code == 202
    assert response.json()["reason"] == "manual" and response.json()["example_count"] == 1
    runs = client.get(f"/api/v1/triggers/{trigger.pk}/runs").json()
    assert [(r["status"], r["example_count"]) for r in runs] == [("delivered", 1)]
    assert runs[0]["export"] is not None
    assert client.post(f"/api/v1/triggers/{trigger.pk}/runs").status_code == 204
