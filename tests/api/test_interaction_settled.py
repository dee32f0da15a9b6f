"""The interaction read-back carries each queue item's adjudication and settled values."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from annotation.models import Annotation, Project
from annotation.models.review import Adjudication, ItemState, QueueItem
from tests.conftest import Persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue


def _item(project: Project, queue: Any, request_id: str, state: str) -> QueueItem:
    return QueueItemFactory(
        queue=queue,
        interaction=InteractionFactory(project=project, request_id=request_id),
        state=state,
        annotations_done=2,
    )


def _annotate(item: QueueItem, persona: Persona, values: dict[str, Any]) -> None:
    now = timezone.now()
    Annotation.objects.create(
        item=item, annotator=persona.user, values=values, created_at=now, updated_at=now
    )


def test_it_shows_the_adjudication_and_the_final_values(
    lead: Persona, engineer: Persona, annotator: Persona, other_annotator: Persona, project: Project
) -> None:
    queue = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    item = _item(project, queue, "req-decided", ItemState.DONE)
    _annotate(item, annotator, {"verdict": "good", "reasons": []})
    _annotate(item, other_annotator, {"verdict": "bad", "reasons": ["unsafe"]})
    Adjudication.objects.create(
        item=item, lead=lead.user, values={"verdict": "bad", "correction": "Never share it."}
    )

    body = engineer.client().get("/api/v1/interactions/req-decided").json()

    (read,) = body["queue_items"]
    assert read["adjudication"]["values"] == {"verdict": "bad", "correction": "Never share it."}
    assert read["adjudication"]["lead"] == "lead"
    assert read["settled"] is True
    assert read["final"] == {
        "verdict": "bad",
        "reasons": ["unsafe"],
        "correction": "Never share it.",
    }


def test_a_tie_reads_back_as_unsettled(
    lead: Persona, annotator: Persona, other_annotator: Persona, project: Project
) -> None:
    queue = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    tied = _item(project, queue, "req-tied", ItemState.DONE)
    _annotate(tied, annotator, {"verdict": "good"})
    _annotate(tied, other_annotator, {"verdict": "bad"})
    waiting = _item(project, queue, "req-open", ItemState.OPEN)
    _annotate(waiting, annotator, {"verdict": "bad"})

    for request_id in ("req-tied", "req-open"):
        (read,) = lead.client().get(f"/api/v1/interactions/{request_id}").json()["queue_items"]

        assert read["adjudication"] is None
        assert read["settled"] is False
        assert read["final"] is None


def test_annotators_do_not_see_the_others_answers_settled(
    annotator: Persona, other_annotator: Persona, project: Project
) -> None:
    queue = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    item = _item(project, queue, "req-agreed", ItemState.DONE)
    _annotate(item, annotator, {"verdict": "bad"})
    _annotate(item, other_annotator, {"verdict": "bad", "correction": "Theirs."})

    response = annotator.client().get("/api/v1/interactions/req-agreed")

    assert response.status_code == 200
    (read,) = response.json()["queue_items"]
    assert read["final"] is None and read["adjudication"] is None
