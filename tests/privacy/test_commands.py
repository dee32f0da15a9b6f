"""manage.py erase_user: counts per table, and its refusals."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotation.models import Interaction, Project
from annotation.models.audit import AuditEvent
from tests.conftest import Persona
from tests.privacy.conftest import interaction, post

pytestmark = pytest.mark.django_db


def test_it_erases_and_prints_the_counts(
    project: Project, ingest_client: APIClient, lead: Persona
) -> None:
    post(
        ingest_client,
        "/api/v1/interactions",
        {"items": [interaction("req-1", user_id="u-1"), interaction("req-2", user_id="u-2")]},
    )
    out = StringIO()

    call_command(
        "erase_user", "--project", project.name, "--user-id", "u-1", "--actor", "lead", stdout=out
    )

    assert "interactions: 1" in out.getvalue()
    assert "feedback: 0" in out.getvalue()
    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["req-2"]
    assert AuditEvent.objects.get(action="privacy.erase").actor == lead.user


def test_it_erases_by_session(project: Project, ingest_client: APIClient) -> None:
    post(ingest_client, "/api/v1/interactions", interaction("req-1", session_id="s-5"))

    call_command("erase_user", "--project", project.name, "--session-id", "s-5", stdout=StringIO())

    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "nope", "--user-id", "u"], "No project 'nope'."),
        (["--project", "support-bot"], "send --user-id"),
        (["--project", "support-bot", "--user-id", "u", "--session-id", "s"], "either --user-id"),
        (["--project", "support-bot", "--user-id", "u", "--actor", "ghost"], "No user 'ghost'."),
        (["--project", "support-bot", "--user-id", "u", "--batch-size", "0"], "at least 1"),
    ],
)
def test_it_refuses_what_it_cannot_do(project: Project, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("erase_user", *args, stdout=StringIO())
