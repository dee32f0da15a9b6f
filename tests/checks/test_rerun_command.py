from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from annotation.models import Flag, Project
from annotation.services.projects import project_create
from tests.conftest import Persona
from tests.factories import InteractionFactory


def test_rerun_checks_reevaluates_after_a_change(project: Project) -> None:
    old = InteractionFactory(
        project=project,
        response="x@example.org",
        timestamp=timezone.now() - timezone.timedelta(days=30),
    )
    new = InteractionFactory(project=project, response="y@example.org")
    out = StringIO()

    call_command(
        "rerun_checks",
        "--check",
        "pii",
        "--since",
        (timezone.now() - timezone.timedelta(days=1)).date().isoformat(),
        stdout=out,
    )

    assert "Queued 1 interactions of support-bot for 'pii'." in out.getvalue()
    assert list(Flag.objects.values_list("interaction_id", flat=True)) == [new.pk]
    assert old.pk != new.pk


def test_rerun_checks_refuses_ambiguity_and_bad_dates(project: Project) -> None:
    project_create(name="second")

    with pytest.raises(CommandError, match="add --project"):
        call_command("rerun_checks", "--check", "pii")
    with pytest.raises(CommandError, match="not a date"):
        call_command(
            "rerun_checks", "--check", "pii", "--project", "second", "--since", "last week"
        )
    with pytest.raises(CommandError, match="No check named 'nope'"):
        call_command("rerun_checks", "--check", "nope")


def test_the_admin_refuses_an_invalid_regex(lead: Persona, project: Project) -> None:
    client = Client()
    client.force_login(lead.user)

    response = client.post(
        "/admin/annotation/check/add/",
        {
            "project": project.pk,
            "name": "bad-regex",
            "type": "format",
            "parameters": '{"deny_patterns": ["(oops"]}',
            "severity": 20,
            "enabled": "on",
            "sample_rate": "1",
        },
    )

    assert response.status_code == 200
    assert "Invalid regular expression" in response.content.decode()
    assert not project.checks.filter(name="bad-regex").exists()


def test_the_admin_saves_a_valid_check(lead: Persona, project: Project) -> None:
    client = Client()
    client.force_login(lead.user)

    response = client.post(
        "/admin/annotation/check/add/",
        {
            "project": project.pk,
            "name": "short",
            "type": "format",
            "parameters": '{"max_chars": 500}',
            "severity": 20,
            "enabled": "on",
            "sample_rate": "1",
        },
    )

    assert response.status_code == 302
    assert project.checks.get(name="short").parameters["max_chars"] == 500


def test_leads_see_flags_in_the_admin(lead: Persona, project: Project, db: Any) -> None:
    client = Client()
    client.force_login(lead.user)

    assert client.get("/admin/annotation/flag/").status_code == 200
    assert client.get("/admin/annotation/check/").status_code == 200
