"""Reading the audit log: GET /api/v1/audit (leads, filters, keyset pages) and the lead's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from annotation.models import AuditEvent, Project
from annotation.services.audit import audit_record
from tests.conftest import Persona

API = "/api/v1/audit"


@pytest.fixture
def events(project: Project, lead: Persona, engineer: Persona, outsider: Persona) -> None:
    """120 events in the project (newest: export downloads), 3 elsewhere."""
    for i in range(100):
        audit_record(
            actor=engineer.user, action="export.created", project=project, target=f"export:{i}"
        )
    for i in range(20):
        audit_record(
            actor=lead.user,
            action="export.download",
            project=project,
            target=f"export:{i}",
            details={"part": "train", "note": "<script>alert(1)</script>"},
        )
    other = Project.objects.get(name="other-bot")
    for i in range(3):
        audit_record(actor=outsider.user, action="export.created", project=other, target=f"x:{i}")


def page(client: Any, **params: Any) -> Any:
    response = client.get(API, params)
    assert response.status_code == 200, response.content
    return response.json()


def ours(project: Project) -> int:
    return AuditEvent.objects.filter(project=project).count()


def test_a_lead_reads_every_event_of_the_project_once_through_keyset_pages(
    events: None, project: Project, lead: Persona
) -> None:
    client = lead.client()
    seen: list[int] = []
    body = page(client, project="support-bot", limit=50)
    while True:
        seen += [event["id"] for event in body["results"]]
        if not body["next"]:
            break
        query = parse_qs(urlsplit(body["next"]).query)
        assert query["project"] == ["support-bot"] and query["limit"] == ["50"]
        body = client.get(body["next"]).json()

    assert len(seen) == len(set(seen)) == ours(project)
    expected = list(
        AuditEvent.objects.filter(project=project)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )
    assert seen == expected


def test_filters_by_action_actor_and_date(
    events: None, project: Project, lead: Persona, engineer: Persona
) -> None:
    assert ours(project) < 200
    client = lead.client()

    downloads = page(client, project="support-bot", action="export.download", limit=200)
    by_engineer = page(client, project="support-bot", actor="engineer", limit=200)
    today = timezone.now().date()
    future = page(client, project="support-bot", since=str(today + timedelta(days=1)))
    up_to_today = page(client, project="support-bot", until=str(today), limit=200)

    assert len(downloads["results"]) == 20
    assert {e["action"] for e in downloads["results"]} == {"export.download"}
    assert downloads["results"][0]["details"]["part"] == "train"
    assert {e["actor"] for e in by_engineer["results"]} == {"engineer"}
    assert future["results"] == [] and future["next"] is None
    assert len(up_to_today["results"]) == ours(project) and up_to_today["next"] is None


def test_without_a_project_a_lead_sees_only_projects_they_lead(
    events: None, lead: Persona, engineer: Persona
) -> None:
    body = page(lead.client(), limit=200)

    assert {e["project"] for e in body["results"]} == {"support-bot"}
    assert page(engineer.client())["results"] == []


def test_engineers_and_outsiders_are_refused_a_project_log(
    events: None, engineer: Persona, outsider: Persona, annotator: Persona
) -> None:
    assert engineer.client().get(API, {"project": "support-bot"}).status_code == 403
    assert annotator.client().get(API, {"project": "support-bot"}).status_code == 403
    assert outsider.client().get(API, {"project": "support-bot"}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "export.deleted"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(lead: Persona, params: dict[str, str], field: str) -> None:
    response = lead.client().get(API, {"project": "support-bot", **params})

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_nothing_in_the_api_changes_an_event(events: None, lead: Persona) -> None:
    event = AuditEvent.objects.filter(project__name="support-bot").first()
    assert event is not None
    client = lead.client()

    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(API, {}, format="json").status_code == 405
    assert client.delete(f"{API}/{event.pk}").status_code == 404


# -- the lead's page ------------------------------------------------------------------------------

PAGE = "/lead/projects/support-bot/audit"


def browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_the_page_lists_events_escaped_and_pages_on_with_htmx(events: None, lead: Persona) -> None:
    client = browser(lead)

    full = client.get(PAGE)
    html = full.content.decode()

    assert full.status_code == 200 and "HX-Request" in full["Vary"]
    assert full["Cache-Control"].startswith("max-age=0") or "no-store" in full["Cache-Control"]
    assert html.count("<tr data-event=") == 50
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    more = html.split('id="audit-more" ', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    more = more.replace("&amp;", "&")
    older = client.get(more, HTTP_HX_REQUEST="true")
    assert older.status_code == 200
    assert "<html" not in older.content.decode()
    assert older.content.decode().count("<tr data-event=") == 50


def test_the_page_filters_by_action_as_an_htmx_partial(events: None, lead: Persona) -> None:
    response = browser(lead).get(PAGE, {"action": "export.download"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200 and '<div id="audit-results"' in html
    assert html.count("<tr data-event=") == 20 and "<html" not in html


def test_a_bad_date_on_the_page_says_so(events: None, lead: Persona) -> None:
    response = browser(lead).get(PAGE, {"since": "soon"})

    assert response.status_code == 400
    assert "is not a date" in response.content.decode()


def test_only_leads_open_the_page(events: None, engineer: Persona, outsider: Persona) -> None:
    assert browser(engineer).get(PAGE).status_code == 403
    assert browser(outsider).get(PAGE).status_code == 404
    anonymous = Client().get(PAGE)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
