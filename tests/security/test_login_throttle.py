"""Sign-in locks after repeated failures, per account and per address; the right password is
refused while locked; failures and locks are audited."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from annotation.models import AuditEvent
from tests.conftest import Persona

LOGIN = "/accounts/login/"
RIGHT = "pw-0123456789"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=5, LOGIN_LOCK_SECONDS=900)
def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
    annotator: Persona,
) -> None:
    client = Client()
    answers = [attempt(client, "annotator", f"wrong-{i}") for i in range(5)]

    assert [a.status_code for a in answers[:4]] == [200, 200, 200, 200]
    assert b"didn&#x27;t match" in answers[0].content or b"didn't match" in answers[0].content
    locked = answers[4]
    assert locked.status_code == 429
    assert 890 <= int(locked["Retry-After"]) <= 901
    assert b"locked for about 15 minutes" in locked.content

    right = attempt(client, "annotator", RIGHT)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login.failed", actor_label="annotator").count() == 5
    lock = AuditEvent.objects.get(action="login.locked")
    assert lock.target == "account:annotator" and lock.ip_address == "10.0.0.1"


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=2, LOGIN_LOCK_SECONDS=1)
def test_after_the_cooling_period_the_right_password_works(annotator: Persona) -> None:
    client = Client()
    attempt(client, "annotator", "wrong")
    assert attempt(client, "annotator", "wrong").status_code == 429

    time.sleep(1.2)
    answer = attempt(client, "annotator", RIGHT)

    assert answer.status_code == 302
    assert int(client.session["_auth_user_id"]) == annotator.user.pk


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=3)
def test_a_success_before_the_limit_clears_the_count(annotator: Persona) -> None:
    client = Client()
    attempt(client, "annotator", "wrong")
    attempt(client, "annotator", "wrong")
    assert attempt(client, "annotator", RIGHT).status_code == 302
    client.logout()

    attempt(client, "annotator", "wrong")
    attempt(client, "annotator", "wrong")

    assert attempt(client, "annotator", RIGHT).status_code == 302


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=100, LOGIN_FAILURES_PER_ADDRESS=4)
def test_one_address_spraying_many_accounts_is_locked(annotator: Persona, lead: Persona) -> None:
    client = Client()
    for name in ("a1", "a2", "a3", "a4"):
        attempt(client, name, "guess", ip="10.9.9.9")

    assert attempt(client, "annotator", RIGHT, ip="10.9.9.9").status_code == 429
    assert attempt(Client(), "lead", RIGHT, ip="10.1.1.1").status_code == 302


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=2)
def test_the_lock_holds_for_the_admin_login_too(lead: Persona) -> None:
    client = Client()
    attempt(client, "lead", "wrong")
    attempt(client, "lead", "wrong")

    admin = client.post(
        "/admin/login/?next=/admin/",
        {"username": "lead", "password": RIGHT},
        REMOTE_ADDR="10.0.0.1",
    )

    assert admin.status_code == 200
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=2)
def test_usernames_differing_in_case_share_a_count(annotator: Persona) -> None:
    client = Client()
    attempt(client, "Annotator", "wrong")
    attempt(client, "ANNOTATOR ", "wrong")

    assert attempt(client, "annotator", RIGHT).status_code == 429
