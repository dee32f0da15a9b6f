"""Project keys and user tokens: listed by prefix, revoked and rotated at once, expiring, and each
bad credential answered with its own 401 code; nothing of a refused batch is stored."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import ApiToken, AuditEvent, Interaction, ProjectKey
from tests.conftest import KeyedProject, Persona


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def ingest(key: str, *request_ids: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    items = [
        {"request_id": rid, "messages": [{"role": "user", "content": "hi"}], "response": "ok"}
        for rid in request_ids
    ]
    return client.post(
        "/api/v1/interactions", json.dumps({"items": items}), content_type="application/json"
    )


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer nope", "malformed_key"),
        ("Bearer flk_0000000_short", "malformed_key"),
        ('Bearer "flk_1234abcd_aaaaaaaaaaaaaaaaaaaaaaaaaaa"', "malformed_key"),
        ("Bearer flk_1234abcd_aaaaaaaaaaaaaaaaaaaaaaaaaaa", "unknown_key"),
        ("Bearer a b", "authentication_failed"),
    ],
)
def test_each_bad_key_gets_its_own_401(db: Any, header: str, code: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post("/api/v1/interactions", "{}", content_type="application/json")

    assert response.status_code == 401
    assert error(response)["code"] == code
    assert error(response)["message"]


def test_a_key_revoked_through_the_api_is_refused_from_the_next_batch(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    assert ingest(keyed_project.key, "a", "b").status_code == 201
    key = ProjectKey.objects.get(project=keyed_project.project, scope="ingest")

    revoked = lead.client().post(f"/api/v1/keys/{key.pk}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"

    refused = ingest(keyed_project.key, "c", "d", "e")
    assert refused.status_code == 401
    assert error(refused)["code"] == "key_revoked"
    assert "nothing of this request was stored" in error(refused)["message"]
    assert set(Interaction.objects.values_list("request_id", flat=True)) == {"a", "b"}
    event = AuditEvent.objects.get(action="key.revoked")
    assert event.actor == lead.user and event.target == f"key:{key.prefix}"


def test_revoking_twice_is_a_conflict(keyed_project: KeyedProject, lead: Persona) -> None:
    key = ProjectKey.objects.get(project=keyed_project.project)
    lead.client().post(f"/api/v1/keys/{key.pk}/revoke")

    again = lead.client().post(f"/api/v1/keys/{key.pk}/revoke")

    assert again.status_code == 409 and error(again)["code"] == "already_revoked"


def test_keys_are_listed_by_prefix_only_to_leads(
    keyed_project: KeyedProject, lead: Persona, engineer: Persona, outsider: Persona
) -> None:
    listed = lead.client().get("/api/v1/keys", {"project": "support-bot"})

    assert listed.status_code == 200
    (entry,) = listed.json()
    key = ProjectKey.objects.get(project=keyed_project.project)
    assert entry["prefix"] == key.prefix and entry["state"] == "active"
    assert keyed_project.key not in listed.content.decode()
    assert key.key_hash not in listed.content.decode()
    assert engineer.client().get("/api/v1/keys", {"project": "support-bot"}).status_code == 403
    assert outsider.client().get("/api/v1/keys", {"project": "support-bot"}).status_code == 404
    assert outsider.client().post(f"/api/v1/keys/{key.pk}/revoke").status_code == 404
    assert engineer.client().post(f"/api/v1/keys/{key.pk}/revoke").status_code == 403


def test_a_lead_creates_a_key_shown_once(keyed_project: KeyedProject, lead: Persona) -> None:
    created = lead.client().post(
        "/api/v1/keys", {"project": "support-bot", "name": "batch-job"}, format="json"
    )

    assert created.status_code == 201
    secret = created.json()["key"]
    assert secret.startswith(created.json()["prefix"] + "_")
    assert ingest(secret, "x").status_code == 201
    listed = lead.client().get("/api/v1/keys", {"project": "support-bot"}).json()
    assert all("key" not in entry for entry in listed)
    event = AuditEvent.objects.get(action="key.created", actor=lead.user)
    assert event.project == keyed_project.project and event.details["name"] == "batch-job"


def test_rotation_without_grace_retires_the_old_key_at_once(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    key = ProjectKey.objects.get(project=keyed_project.project)

    rotated = lead.client().post(f"/api/v1/keys/{key.pk}/rotate", {}, format="json")

    assert rotated.status_code == 201
    assert ingest(rotated.json()["key"], "new").status_code == 201
    assert error(ingest(keyed_project.key, "old"))["code"] == "key_revoked"
    assert (
        AuditEvent.objects.get(action="key.rotated").details["replaced_by"]
        == (rotated.json()["prefix"])
    )


def test_rotation_with_grace_keeps_both_keys_working_until_the_old_one_expires(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    key = ProjectKey.objects.get(project=keyed_project.project)

    rotated = lead.client().post(
        f"/api/v1/keys/{key.pk}/rotate", {"grace_minutes": 30}, format="json"
    )

    assert rotated.status_code == 201
    assert ingest(keyed_project.key, "old-1").status_code == 201
    assert ingest(rotated.json()["key"], "new-1").status_code == 201
    ProjectKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = ingest(keyed_project.key, "old-2")
    assert expired.status_code == 401 and error(expired)["code"] == "key_expired"
    assert not Interaction.objects.filter(request_id="old-2").exists()


@pytest.mark.parametrize("grace", [-1, 10_081, "soon", True])
def test_a_bad_grace_period_is_refused_naming_it(
    keyed_project: KeyedProject, lead: Persona, grace: Any
) -> None:
    key = ProjectKey.objects.get(project=keyed_project.project)

    response = lead.client().post(
        f"/api/v1/keys/{key.pk}/rotate", {"grace_minutes": grace}, format="json"
    )

    assert response.status_code == 400 and "grace_minutes" in error(response)["details"]
    assert ProjectKey.objects.filter(project=keyed_project.project).count() == 1


def test_a_user_creates_lists_and_revokes_their_own_tokens(engineer: Persona) -> None:
    created = engineer.client().post(
        "/api/v1/tokens", {"name": "nightly", "expires_in_days": 30}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["expires_at"] is not None and body["state"] == "active"
    new_client = with_token(body["token"])
    assert new_client.get("/api/v1/tokens").status_code == 200

    listed = engineer.client().get("/api/v1/tokens").json()
    assert {entry["name"] for entry in listed} == {"default", "nightly"}
    assert body["token"] not in json.dumps(listed)

    revoked = engineer.client().post(f"/api/v1/tokens/{body['id']}/revoke")
    assert revoked.status_code == 200
    refused = new_client.get("/api/v1/tokens")
    assert refused.status_code == 401 and error(refused)["code"] == "token_revoked"
    assert AuditEvent.objects.filter(action="token.revoked", actor=engineer.user).count() == 1


def test_a_token_revoking_itself_is_refused_on_its_very_next_request(engineer: Persona) -> None:
    client = engineer.client()
    token = ApiToken.objects.get(user=engineer.user)

    assert client.post(f"/api/v1/tokens/{token.pk}/revoke").status_code == 200

    assert client.get("/api/v1/tokens").status_code == 401


def test_an_expired_token_gets_a_specific_401(engineer: Persona) -> None:
    ApiToken.objects.filter(user=engineer.user).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    response = engineer.client().get("/api/v1/tokens")

    assert response.status_code == 401
    assert error(response)["code"] == "token_expired"
    assert "/account/tokens/" in error(response)["message"]


def test_rotating_a_token_keeps_its_name_and_lifetime(engineer: Persona) -> None:
    created = (
        engineer.client()
        .post("/api/v1/tokens", {"name": "ci", "expires_in_days": 10}, format="json")
        .json()
    )

    rotated = engineer.client().post(f"/api/v1/tokens/{created['id']}/rotate")

    assert rotated.status_code == 201
    new = ApiToken.objects.get(prefix=rotated.json()["prefix"])
    assert new.name == "ci" and new.expires_at is not None
    assert timedelta(days=9, hours=23) < new.expires_at - timezone.now() <= timedelta(days=10)
    assert error(with_token(created["token"]).get("/api/v1/tokens"))["code"] == "token_revoked"
    assert with_token(rotated.json()["token"]).get("/api/v1/tokens").status_code == 200


def test_someone_elses_token_is_not_found(engineer: Persona, lead: Persona) -> None:
    theirs = ApiToken.objects.get(user=lead.user)

    assert engineer.client().post(f"/api/v1/tokens/{theirs.pk}/revoke").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "ok", "expires_in_days": 367}, "expires_in_days"),
        ({"name": "ok", "expires_in_days": "7"}, "expires_in_days"),
    ],
)
def test_a_bad_token_request_names_the_field(
    engineer: Persona, body: dict[str, Any], field: str
) -> None:
    response = engineer.client().post("/api/v1/tokens", body, format="json")

    assert response.status_code == 400 and field in error(response)["details"]
    assert ApiToken.objects.filter(user=engineer.user).count() == 1


def test_ingestion_keys_cannot_manage_keys_or_tokens(keyed_project: KeyedProject) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed_project.key}")

    assert client.get("/api/v1/keys", {"project": "support-bot"}).status_code in (401, 403)
    assert client.get("/api/v1/tokens").status_code in (401, 403)


def test_the_admin_revokes_through_the_audited_service_and_never_un_revokes(
    keyed_project: KeyedProject, lead: Persona
) -> None:
    from django.test import Client

    key = ProjectKey.objects.get(project=keyed_project.project)
    client = Client()
    client.force_login(lead.user)

    response = client.post(
        "/admin/annotation/projectkey/",
        {"action": "revoke_keys", "_selected_action": [key.pk]},
    )

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.get(action="key.revoked").actor == lead.user
    change = client.post(
        f"/admin/annotation/projectkey/{key.pk}/change/",
        {
            "name": "renamed",
            "scope": "ingest",
            "allowed_origins": "[]",
            "rate_limit_per_minute": "",
            "revoked_at": "",
        },
    )
    assert change.status_code == 302
    key.refresh_from_db()
    assert key.name == "renamed" and key.revoked_at is not None
    assert error(ingest(keyed_project.key, "z"))["code"] == "key_revoked"
