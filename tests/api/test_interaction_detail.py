from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Role
from annotation.services.projects import member_upsert
from tests.conftest import KeyedProject, Persona
from tests.factories import FeedbackFactory, InteractionFactory


def url(request_id: str, project: str | None = None) -> str:
    return f"/api/v1/interactions/{request_id}" + (f"?project={project}" if project else "")


def test_it_returns_the_interaction_with_all_its_feedback(lead: Persona, project: Any) -> None:
    interaction = InteractionFactory(project=project, request_id="req-123")
    FeedbackFactory(
        interaction=interaction,
        value=0,
        scale="thumbs",
        normalized_score=0.0,
        feedback_id="fb-1",
        timestamp=timezone.now() - timedelta(minutes=1),
    )
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
    # Newest first, each with the application's feedback_id.
    assert [
        (f["kind"], f["normalized_score"], f["text"], f["feedback_id"]) for f in body["feedback"]
    ] == [("comment", None, "meh", ""), ("rating", 0.0, "", "fb-1")]
    assert body["feedback_count"] == 2
    assert body["feedback_next"] is None


def test_an_engineer_reads_interactions(engineer: Persona, project: Any) -> None:
    InteractionFactory(project=project, request_id="req-1")

    assert engineer.client().get(url("req-1")).status_code == 200


def test_an_annotator_cannot_browse_interactions_outside_their_queues(
    annotator: Persona, project: Any
) -> None:
    InteractionFactory(project=project, request_id="req-1")

    response = annotator.client().get(url("req-1"))

    # A member of the project is told why, not that the interaction is not in their projects.
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_assigned"
    assert "queues assigned to them" in response.json()["error"]["message"]
    assert annotator.client().get(url("req-1", "support-bot")).status_code == 403


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


def _annotated_item(project: Any, annotator: Persona, other: Persona, request_id: str) -> Any:
    from annotation.models import Annotation
    from tests.factories import QueueItemFactory
    from tests.review.conftest import make_queue

    queue = make_queue(project, [annotator, other], name="Weekly", overlap=2)
    item = QueueItemFactory(
        queue=queue, interaction=InteractionFactory(project=project, request_id=request_id)
    )
    now = timezone.now()
    for persona, verdict in ((annotator, "bad"), (other, "good")):
        Annotation.objects.create(
            item=item,
            annotator=persona.user,
            values={"verdict": verdict},
            created_at=now,
            updated_at=now,
        )
    return item


def test_an_assigned_annotator_reads_the_interaction_with_only_their_own_annotation(
    annotator: Persona, other_annotator: Persona, project: Any
) -> None:
    item = _annotated_item(project, annotator, other_annotator, "req-7")
    FeedbackFactory(interaction=item.interaction, feedback_id="fb-7")

    response = annotator.client().get(url("req-7"))

    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == "req-7"
    assert [f["feedback_id"] for f in body["feedback"]] == ["fb-7"]
    assert [q["queue"] for q in body["queue_items"]] == ["Weekly"]
    # Reviews stay independent: the other annotator's verdict is not shown.
    assert [(a["annotator"], a["values"]) for a in body["annotations"]] == [
        ("annotator", {"verdict": "bad"})
    ]


def test_a_lead_and_an_engineer_read_every_annotation(
    lead: Persona, engineer: Persona, annotator: Persona, other_annotator: Persona, project: Any
) -> None:
    _annotated_item(project, annotator, other_annotator, "req-8")

    for persona in (lead, engineer):
        body = persona.client().get(url("req-8")).json()
        assert sorted(a["annotator"] for a in body["annotations"]) == [
            "annotator",
            "other_annotator",
        ]


def test_an_annotator_of_another_project_gets_not_found(
    annotator: Persona, other_annotator: Persona, other_keyed_project: KeyedProject, project: Any
) -> None:
    from annotation.services.projects import member_upsert as upsert

    _annotated_item(project, annotator, other_annotator, "req-9")
    stranger = upsert(username="stranger", project=other_keyed_project.project, role=Role.ANNOTATOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {stranger.secret}")

    response = client.get(url("req-9"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_pages_feedback_newest_first_with_a_cursor(lead: Persona, project: Any) -> None:
    from annotation.models import Feedback

    interaction = InteractionFactory(project=project, request_id="req-many")
    start = timezone.now() - timedelta(days=1)
    Feedback.objects.bulk_create(
        [
            Feedback(
                project=project,
                interaction=interaction,
                request_id="req-many",
                kind="comment",
                text=f"comment {n}",
                feedback_id=f"fb-{n}",
                # Pairs share a timestamp, so the cursor must break ties by id.
                timestamp=start + timedelta(seconds=n // 2),
                received_at=start,
            )
            for n in range(250)
        ]
    )

    seen: list[str] = []
    pages = 0
    next_url: str | None = url("req-many")
    while next_url:
        body = lead.client().get(next_url).json()
        assert body["feedback_count"] == 250
        assert len(body["feedback"]) <= 100
        seen += [f["feedback_id"] for f in body["feedback"]]
        next_url = body["feedback_next"]
        pages += 1

    assert pages == 3
    assert len(seen) == len(set(seen)) == 250
    assert seen[0] in ("fb-249", "fb-248") and seen[-1] in ("fb-0", "fb-1")
    assert [int(s[3:]) // 2 for s in seen] == sorted((n // 2 for n in range(250)), reverse=True)


def test_the_feedback_cursor_keeps_the_project_parameter(
    lead: Persona, project: Any, other_keyed_project: KeyedProject
) -> None:
    member_upsert(username="lead", project=other_keyed_project.project, role=Role.LEAD)
    InteractionFactory(project=other_keyed_project.project, request_id="req-1")
    interaction = InteractionFactory(project=project, request_id="req-1")
    for _ in range(101):
        FeedbackFactory(interaction=interaction)

    first = lead.client().get(url("req-1", "support-bot")).json()
    second = lead.client().get(first["feedback_next"]).json()

    assert "project=support-bot" in first["feedback_next"]
    assert len(first["feedback"]) == 100 and len(second["feedback"]) == 1
    assert second["feedback_next"] is None


def test_a_bad_feedback_cursor_is_a_400_naming_it(lead: Persona, project: Any) -> None:
    InteractionFactory(project=project, request_id="req-1")

    for cursor in ("nope", "%%%", "MjAyNnxub3Q", "bm90IGEgZGF0ZXwx"):
        response = lead.client().get(f"{url('req-1')}?feedback_cursor={cursor}")
        assert response.status_code == 400, cursor
        assert response.json()["error"]["code"] == "invalid_cursor"
        assert response.json()["error"]["details"] == {"field": "feedback_cursor"}
