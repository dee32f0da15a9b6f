from __future__ import annotations

from typing import Any

from django.test import Client

from annotation.models import Guideline, Project, Queue
from annotation.services.queues import queue_fill_now
from tests.conftest import KeyedProject, Persona
from tests.review.conftest import make_queue
from tests.review.data import interaction, rating

PAGES = [
    "/admin/annotation/guideline/",
    "/admin/annotation/queue/",
    "/admin/annotation/queuefill/",
    "/admin/annotation/queueitem/",
    "/admin/annotation/annotation/",
    "/admin/annotation/queue/add/",
    "/admin/annotation/guideline/add/",
]


def login(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_a_lead_sees_the_review_pages_of_their_project(
    project: Project, lead: Persona, annotator: Persona
) -> None:
    rating(interaction(project, "low"), 0.0)
    queue = make_queue(project, [annotator])
    queue_fill_now(queue=queue)
    client = login(lead)

    for page in PAGES:
        assert client.get(page).status_code == 200, page
    assert b"weekly" in client.get("/admin/annotation/queue/").content
    assert client.get(f"/admin/annotation/queue/{queue.pk}/change/").status_code == 200


def test_a_lead_does_not_see_other_projects_queues(
    lead: Persona, outsider: Persona, other_keyed_project: KeyedProject
) -> None:
    theirs = make_queue(other_keyed_project.project, [outsider], name="theirs")

    assert b"theirs" not in login(lead).get("/admin/annotation/queue/").content
    assert login(lead).get(f"/admin/annotation/queue/{theirs.pk}/change/").status_code == 302


def test_publishing_a_guideline_in_the_admin_numbers_it(project: Project, lead: Persona) -> None:
    client = login(lead)
    for text in ("first", "second"):
        response = client.post(
            "/admin/annotation/guideline/add/", {"project": project.pk, "text": text}
        )
        assert response.status_code == 302

    assert list(Guideline.objects.order_by("version").values_list("version", "text")) == [
        (1, "first"),
        (2, "second"),
    ]


def test_the_admin_rejects_an_invalid_queue(project: Project, lead: Persona) -> None:
    response = login(lead).post(
        "/admin/annotation/queue/add/",
        {
            "project": project.pk,
            "name": "bad",
            "schema": '{"fields": []}',
            "sources": '[{"type": "popular"}]',
            "filters": "{}",
            "priority": "[]",
            "overlap": 1,
            "capacity": 10,
            "lease_minutes": 15,
            "state": "active",
            "seed": 1,
        },
    )

    assert response.status_code == 200
    assert b"unknown source type" in response.content
    assert not Queue.objects.exists()


def test_an_annotator_cannot_open_the_review_admin(annotator: Persona, db: Any) -> None:
    assert login(annotator).get("/admin/annotation/queue/").status_code == 302
