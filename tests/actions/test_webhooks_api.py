"""The webhooks API: who may do what, specific errors for bad input, secrets shown once,
the delivery log and redelivery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Project, Webhook, WebhookDelivery
from annotation.outbound import targets
from annotation.outbound.sealing import unseal
from annotation.services.deliveries import delivery_attempt
from tests.actions.conftest import make_webhook
from tests.actions.receiver import Receiver, Reply
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/finetune"


@pytest.fixture(autouse=True)
def _dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed DNS: hooks.example.com is public, internal.example.com private, the rest unknown."""
    table = {"hooks.example.com": ["93.184.216.34"], "internal.example.com": ["10.0.0.5"]}

    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    monkeypatch.setattr(targets, "system_resolver", resolve)


@pytest.fixture
def strict(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def create(persona: Persona, **data: Any) -> Any:
    return persona.client().post(
        "/api/v1/webhooks", {"project": "support-bot", "name": "ci", **data}, format="json"
    )


def test_a_lead_creates_a_webhook_and_sees_its_generated_secret_once(
    lead: Persona, strict: None, settings: Any
) -> None:
    response = create(lead, url=URL)
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["secret_prefix"] == body["secret"][:10]
    webhook = Webhook.objects.get(pk=body["id"])
    assert body["secret"] not in webhook.secret_sealed  # sealed at rest
    assert unseal(webhook.secret_sealed, settings.WEBHOOK_SECRETS_KEYS) == body["secret"]
    read = lead.client().get(f"/api/v1/webhooks/{webhook.pk}").json()
    assert "secret" not in read and read["url"] == URL and read["format"] == "json"


def test_a_given_secret_is_kept(lead: Persona, strict: None) -> None:
    response = create(lead, url=URL, secret="my-own-secret-0123456789")
    assert response.json()["secret"] == "my-own-secret-0123456789"


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "scheme_not_allowed", "url"),
        ({"url": "http://hooks.example.com/x"}, "scheme_not_allowed", "url"),
        ({"url": "https://10.0.0.1/x"}, "address_not_allowed", "url"),
        ({"url": "https://127.0.0.1/x"}, "address_not_allowed", "url"),
        ({"url": "https://169.254.169.254/latest"}, "address_not_allowed", "url"),
        ({"url": "https://[::1]/x"}, "address_not_allowed", "url"),
        ({"url": "https://internal.example.com/x"}, "address_not_allowed", "url"),
        ({"url": "https://nowhere.example.com/x"}, "unresolvable", "url"),
        ({"url": "https://exa mple.com/"}, "invalid_url", "url"),
        ({}, "invalid_url", "url"),
        ({"url": URL, "secret": ""}, "missing_secret", "secret"),
        ({"url": URL, "secret": None}, "missing_secret", "secret"),
        ({"url": URL, "secret": "short"}, "weak_secret", "secret"),
        ({"url": URL, "format": "xml"}, "unknown_format", "format"),
        ({"url": URL, "colour": "red"}, "invalid", "colour"),
        ({"url": URL, "name": ""}, "invalid", "name"),
        ({"format": "email"}, "invalid", "email_recipients"),
        (
            {"format": "email", "email_recipients": ["not-an-address"]},
            "invalid",
            "email_recipients",
        ),
        ({"format": "email", "url": URL, "email_recipients": ["a@example.com"]}, "invalid", "url"),
    ],
)
def test_bad_input_gets_a_specific_400_naming_the_field(
    lead: Persona, strict: None, data: dict[str, Any], code: str, field: str
) -> None:
    response = create(lead, **data)
    assert response.status_code == 400, response.json()
    assert error(response)["code"] == code
    assert field in error(response)["details"]
    assert not Webhook.objects.exists()


def test_the_error_says_whether_syntax_or_resolution_failed(lead: Persona, strict: None) -> None:
    syntax = error(create(lead, url="ftp://hooks.example.com/"))["message"]
    resolution = error(create(lead, url="https://nowhere.example.com/"))["message"]
    assert "Scheme 'ftp' is not allowed" in syntax
    assert "well formed but its host does not resolve" in resolution


def test_a_body_that_is_not_an_object_is_a_400(lead: Persona) -> None:
    response = lead.client().post("/api/v1/webhooks", [1, 2], format="json")
    assert response.status_code == 400


def test_names_are_unique_per_project(lead: Persona, strict: None) -> None:
    assert create(lead, url=URL).status_code == 201
    again = create(lead, url=URL)
    assert again.status_code == 409 and error(again)["code"] == "name_taken"


def test_an_email_webhook_needs_recipients_only(lead: Persona) -> None:
    response = create(lead, format="email", email_recipients=["oncall@example.com"])
    assert response.status_code == 201
    assert response.json()["email_recipients"] == ["oncall@example.com"]


def test_engineers_read_but_do_not_change_webhooks(
    project: Project, lead: Persona, engineer: Persona
) -> None:
    webhook = make_webhook(project, "http://127.0.0.1:9/x")
    client = engineer.client()
    assert client.get("/api/v1/webhooks").json()[0]["id"] == webhook.pk
    assert client.get(f"/api/v1/webhooks/{webhook.pk}").status_code == 200
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/deliveries").status_code == 200
    assert create(engineer, url=URL).status_code == 403
    assert client.patch(f"/api/v1/webhooks/{webhook.pk}", {"active": False}).status_code == 403
    assert client.delete(f"/api/v1/webhooks/{webhook.pk}").status_code == 403


def test_annotators_are_refused(project: Project, annotator: Persona) -> None:
    webhook = make_webhook(project, "http://127.0.0.1:9/x")
    client = annotator.client()
    assert client.get(f"/api/v1/webhooks/{webhook.pk}").status_code == 403
    assert client.get("/api/v1/webhooks?project=support-bot").status_code == 403
    assert client.get("/api/v1/webhooks").json() == []
    assert create(annotator, url=URL).status_code == 403


def test_another_projects_webhooks_do_not_exist_for_you(
    project: Project, outsider: Persona
) -> None:
    webhook = make_webhook(project, "http://127.0.0.1:9/x")
    client = outsider.client()
    for response in (
        client.get(f"/api/v1/webhooks/{webhook.pk}"),
        client.patch(f"/api/v1/webhooks/{webhook.pk}", {"active": False}, format="json"),
        client.delete(f"/api/v1/webhooks/{webhook.pk}"),
        client.get(f"/api/v1/webhooks/{webhook.pk}/deliveries"),
        client.get("/api/v1/webhooks?project=support-bot"),
        create(outsider, url=URL),
    ):
        assert response.status_code == 404
    assert client.get("/api/v1/webhooks").json() == []
    webhook.refresh_from_db()
    assert webhook.active is True


def test_anonymous_callers_are_refused(project: Project) -> None:
    webhook = make_webhook(project, "http://127.0.0.1:9/x")
    client = APIClient()
    for response in (
        client.get("/api/v1/webhooks"),
        client.post("/api/v1/webhooks", {}, format="json"),
        client.get(f"/api/v1/webhooks/{webhook.pk}"),
    ):
        assert response.status_code in (401, 403)
        assert error(response)["code"] == "not_authenticated"


def test_a_lead_changes_and_deletes_a_webhook(project: Project, lead: Persona) -> None:
    webhook = make_webhook(project, "http://127.0.0.1:9/x")
    Webhook.objects.filter(pk=webhook.pk).update(failing=True, consecutive_failures=3)
    client = lead.client()
    changed = client.patch(
        f"/api/v1/webhooks/{webhook.pk}",
        {"name": "renamed", "active": True, "secret": "a-brand-new-secret-123"},
        format="json",
    )
    assert changed.status_code == 200
    body = changed.json()
    assert body["name"] == "renamed" and body["secret"] == "a-brand-new-secret-123"
    assert body["failing"] is False  # switched on again by hand
    bad = client.patch(f"/api/v1/webhooks/{webhook.pk}", {"url": "gopher://x"}, format="json")
    assert bad.status_code == 400 and "url" in error(bad)["details"]
    assert client.delete(f"/api/v1/webhooks/{webhook.pk}").status_code == 204
    assert not Webhook.objects.exists()


def test_the_delivery_log_and_redelivery(
    project: Project,
    lead: Persona,
    outsider: Persona,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from annotation.services.deliveries import deliveries_enqueue

    webhook = make_webhook(project, receiver.url)
    receiver.script(Reply(status=422, body=b"unprocessable"))
    with django_capture_on_commit_callbacks(execute=False):
        [delivery] = deliveries_enqueue(webhooks=[webhook], event="alert.fired", payload={})
    delivery_attempt(delivery_id=delivery.pk, attempt=1)
    client = lead.client()

    log = client.get(f"/api/v1/webhooks/{webhook.pk}/deliveries").json()
    assert [(d["status"], d["last_status_code"], d["attempts"]) for d in log] == [
        ("failed", 422, 1)
    ]
    assert log[0]["latency_ms"] is not None and "unprocessable" in log[0]["error"]
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/deliveries?status=delivered").json() == []
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/deliveries?status=x").status_code == 400
    assert client.get(f"/api/v1/webhooks/{webhook.pk}/deliveries?before=x").status_code == 400

    redeliver = f"/api/v1/webhooks/{webhook.pk}/deliveries/{delivery.pk}/redeliver"
    assert outsider.client().post(redeliver).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(redeliver)
    assert response.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.last_status_code == 200
    assert len(receiver.received) == 2

    other = make_webhook(project, receiver.url, name="other")
    wrong = f"/api/v1/webhooks/{other.pk}/deliveries/{delivery.pk}/redeliver"
    assert client.post(wrong).status_code == 404
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="retrying")
    busy = client.post(redeliver)
    assert busy.status_code == 409 and error(busy)["code"] == "delivery_in_progress"
