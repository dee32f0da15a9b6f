from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotation.models import ApiToken, Membership, Project, ProjectKey
from annotation.services.secrets import hash_secret


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_createproject_prints_the_key_alone_on_the_last_line(db: Any) -> None:
    key = run("createproject", "support-bot")[-1]

    assert key.startswith("flk_") and " " not in key
    stored = ProjectKey.objects.get(project__name="support-bot")
    assert stored.key_hash == hash_secret(key)
    assert key not in stored.prefix and stored.key_hash != key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(
        "/api/v1/interactions", {"request_id": "r", "prompt": "p", "response": "x"}, format="json"
    )
    assert response.status_code == 201


def test_createproject_refuses_a_bad_or_taken_name(db: Any) -> None:
    run("createproject", "taken")

    with pytest.raises(CommandError, match="already exists"):
        run("createproject", "taken")
    with pytest.raises(CommandError, match="lowercase"):
        run("createproject", "Not Valid")


def test_adduser_creates_the_user_and_prints_a_working_token(db: Any) -> None:
    run("createproject", "support-bot")

    token = run(
        "adduser",
        "ann1",
        "--project",
        "support-bot",
        "--role",
        "annotator",
        "--password",
        "pw-long-enough",
    )[-1]

    user = get_user_model().objects.get(username="ann1")
    assert user.check_password("pw-long-enough")
    assert Membership.objects.get(user=user).role == "annotator"
    assert ApiToken.objects.get(user=user).key_hash == hash_secret(token)


def test_adduser_updates_an_existing_membership(db: Any) -> None:
    run("createproject", "support-bot")
    run("adduser", "kim", "--project", "support-bot", "--role", "annotator")

    run("adduser", "kim", "--project", "support-bot", "--role", "lead")

    membership = Membership.objects.get(user__username="kim")
    assert membership.role == "lead"
    assert membership.user.is_staff


def test_adduser_needs_an_existing_project(db: Any) -> None:
    with pytest.raises(CommandError, match="No project 'ghost'"):
        run("adduser", "kim", "--project", "ghost", "--role", "lead")


def test_demo_creates_people_and_realistic_data(db: Any) -> None:
    lines = run("demo", "--interactions", "300", "--password", "demo-pass-123")

    project = Project.objects.get(name="support-bot")
    # The 300 conversations asked for, plus the A/B preference pairs the demo adds.
    assert project.interactions.count() >= 300
    assert project.interactions.filter(experiment="safety-tuning").exists()
    feedback = project.feedback.all()
    assert {"rating", "label", "correction", "comment", "implicit"} <= set(
        feedback.values_list("kind", flat=True)
    )
    assert not feedback.filter(interaction__isnull=True).exists()
    assert set(Membership.objects.values_list("user__username", "role")) == {
        ("lead", "lead"),
        ("ann1", "annotator"),
        ("ann2", "annotator"),
        ("ann3", "annotator"),
        ("engineer", "engineer"),
    }
    printed = "\n".join(lines)
    assert "admin" in printed and "demo-pass-123" in printed


def test_demo_can_run_twice(db: Any) -> None:
    run("demo", "--interactions", "50", "--password", "demo-pass-123")
    interactions = Project.objects.get().interactions.count()
    feedback = Project.objects.get().feedback.count()

    run("demo", "--interactions", "50", "--password", "demo-pass-123")

    assert Project.objects.get().interactions.count() == interactions
    assert Project.objects.get().feedback.count() == feedback
