from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from annotation.models import Role
from annotation.services.projects import member_upsert
from tests.conftest import KeyedProject, Persona
from tests.factories import FeedbackFactory, InteractionFactory


def url(request_id: str, project: str | None = None) -> str:
    return f"/api/v1/interactions/{request_id}" + (f"?project={project}" if project else "")


def test_it_returns_the_interaction_with_all_its_feedback(lead: Persona, project: Any) -> None:
    interaction = InteractionFactory(project=project, request_id="req-123")
    FeedbackFactory(interaction=interaction, value=0, scale="thumbs", normalized_score=0.0)
    FeedbackFactory(
        interaction=interaction,
        kind="comment",
        value=None,
        scale="",
        normalized_score=None,
        text="meh",
    )

    response = lead.client().get(url("req-123"))

    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == "req-123"
    assert body["project"] == "support-bot"
    assert body["messages"] == [{"role": "user", "content": "How do I reset it?"}]
    assert [(f["kind"], f["normalized_score"], f["text"]) for f in body["feedback"]] == [
        ("rating", 0.0, ""),
        ("comment", None, "meh"),
    ]


def test_an_engineer_reads_interactions(engineer: Persona, project: Any) -> None:
    InteractionFactory(project=project, request_id="req-1")

    assert engineer.client().get(url("req-1")).status_code == 200


def test_an_annotator_cannot_browse_interactions(annotator: Persona, project: Any) -> None:
    InteractionFactory(project=project, request_id="req-1")

    assert annotator.client().get(url("req-1")).status_code == 404


def test_an_outsider_cannot_read_another_projects_interaction(
    outsider: Persona, project: Any
) -> None:
    InteractionFactory(project=project, request_id="req-1")

    response = outsider.client().get(url("req-1"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert outsider.client().get(url("req-1", "support-bot")).status_code == 404


def test_a_project_key_reads_only_its_own_project(
    keyed_project: KeyedProject, other_keyed_project: KeyedProject
) -> None:
    InteractionFactory(project=keyed_project.project, request_id="req-1")
    mine, theirs = APIClient(), APIClient()
    mine.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed_project.key}")
    theirs.credentials(HTTP_AUTHORIZATION=f"Bearer {other_keyed_project.key}")

    assert mine.get(url("req-1")).status_code == 200
    assert theirs.get(url("req-1")).status_code == 404


def test_it_asks_for_the_project_when_the_request_id_is_ambiguous(
    lead: Persona, project: Any, other_keyed_project: KeyedProject
) -> None:
    member_upsert(username="lead", project=other_keyed_project.project, role=Role.LEAD)
    InteractionFactory(project=project, request_id="req-1", response="one")
    InteractionFactory(project=other_keyed_project.project, request_id="req-1", response="two")

    ambiguous = lead.client().get(url("req-1"))
    chosen = lead.client().get(url("req-1", "other-bot"))

    assert ambiguous.status_code == 400
    assert ambiguous.json()["error"]["code"] == "ambiguous"
    assert ambiguous.json()["error"]["details"] == {"projects": ["other-bot", "support-bot"]}
    assert chosen.json()["response"] == "two"


def test_it_needs_credentials(db: Any) -> None:
    response = APIClient().get(url("req-1"))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_unknown_token_is_refused(db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token flt_0_nope")

    response = client.get(url("req-1"))

    assert response.status_code == 401
    assert "adduser" in response.json()["error"]["message"]


def test_unknown_api_paths_answer_json(db: Any) -> None:
    response = APIClient().get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_includes_queue_items_and_annotations(
    lead: Persona, annotator: Persona, project: Any
) -> None:
    from django.utils import timezone

    from annotation.models import Annotation
    from tests.factories import QueueItemFactory
    from tests.review.conftest import make_queue

    queue = make_queue(project, [annotator], name="Weekly", overlap=1)
    item = QueueItemFactory(
        queue=queue, interaction=InteractionFactory(project=project, request_id="req-9")
    )
    now = timezone.now()
    Annotation.objects.create(
        item=item,
        annotator=annotator.user,
        values={"verdict": "bad"},
        created_at=now,
        updated_at=now,
    )

    body = lead.client().get(url("req-9")).json()

    assert body["queue_items"][0]["queue"] == "Weekly"
    assert body["queue_items"][0]["inclusion_probability"] == 1.0
    assert body["annotations"][0]["annotator"] == "annotator"
    assert body["annotations"][0]["values"] == {"verdict": "bad"}
