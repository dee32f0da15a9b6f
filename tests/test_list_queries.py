"""Every list page and API list reads a bounded number of queries: four times the rows cost no
more queries than one (an N+1 shows up as more), and never more than a fixed ceiling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.models import Annotation, Export, ExportKind, JobStatus, Project, Queue
from annotation.models.review import FillTrigger, ItemState, QueueFill
from tests.conftest import Persona
from tests.factories import (
    CheckFactory,
    FeedbackFactory,
    FlagFactory,
    GuidelineFactory,
    InteractionFactory,
    QueueItemFactory,
)
from tests.review.conftest import make_queue

# Generous for any one page; what catches an N+1 is the comparison with one row of each.
CEILING = 20


@dataclass
class World:
    project: Project
    lead: Persona
    annotator: Persona
    other: Persona
    queue: Queue
    size: int = 0

    def grow(self, rows: int) -> None:
        """`rows` more of everything the lists show, each with its relations filled in."""
        now = timezone.now()
        for _ in range(rows):
            n = self.size = self.size + 1
            queue = make_queue(self.project, [self.annotator, self.other], name=f"queue {n}")
            QueueFill.objects.create(queue=queue, trigger=FillTrigger.MANUAL)
            interaction = InteractionFactory(project=self.project, response=f"answer {n}")
            FeedbackFactory(interaction=interaction)
            check = CheckFactory(project=self.project, name=f"check-{n}")
            FlagFactory(check_config=check, interaction=interaction)
            item = QueueItemFactory(
                queue=self.queue,
                interaction=interaction,
                annotations_done=2,
                state=ItemState.NEEDS_ADJUDICATION,
            )
            for persona, verdict in ((self.annotator, "good"), (self.other, "bad")):
                Annotation.objects.create(
                    item=item,
                    annotator=persona.user,
                    values={"verdict": verdict},
                    created_at=now,
                    updated_at=now,
                )
            GuidelineFactory(project=self.project, version=100 + n, text=f"# v{n}")
            Export.objects.create(
                project=self.project,
                kind=ExportKind.SFT,
                status=JobStatus.DONE,
                created_by=self.lead.user,
            )


Request = Callable[[], Any]


def _page(persona: Callable[[World], Persona], url: Callable[[World], str]) -> Any:
    def bind(world: World) -> Request:
        client = Client()
        client.force_login(persona(world).user)
        return lambda: client.get(url(world))

    return bind


def _api(persona: Callable[[World], Persona], url: Callable[[World], str]) -> Any:
    def bind(world: World) -> Request:
        client = persona(world).client()
        return lambda: client.get(url(world))

    return bind


def _count(request: Request) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert response.status_code == 200, response.content[:500]
    return len(queries)


def _lead(world: World) -> Persona:
    return world.lead


def _annotator(world: World) -> Persona:
    return world.annotator


LISTS: dict[str, Any] = {
    "home": _page(_annotator, lambda w: "/"),
    "my annotations": _page(_annotator, lambda w: f"/queues/{w.queue.pk}/mine"),
    "lead hub": _page(_lead, lambda w: "/lead/"),
    "adjudication list": _page(_lead, lambda w: f"/lead/queues/{w.queue.pk}/adjudication"),
    "guidelines page": _page(_lead, lambda w: f"/lead/projects/{w.project.name}/guidelines"),
    "exports page": _page(_lead, lambda w: "/exports/"),
    "explorer": _page(_lead, lambda w: f"/insights/{w.project.name}/interactions"),
    "queues API": _api(_lead, lambda w: "/api/v1/queues"),
    "checks API": _api(_lead, lambda w: f"/api/v1/checks?project={w.project.name}"),
    "guidelines API": _api(_lead, lambda w: f"/api/v1/guidelines?project={w.project.name}"),
    "exports API": _api(_lead, lambda w: "/api/v1/exports"),
    # Read from the queues' counters and recent work, not from every item and annotation.
    "queue stats API": _api(_lead, lambda w: f"/api/v1/queues/{w.queue.pk}/stats"),
    "fill preview API": _api(_lead, lambda w: f"/api/v1/queues/{w.queue.pk}/fill/preview"),
}


@pytest.fixture
def world(project: Project, lead: Persona, annotator: Persona, other_annotator: Persona) -> World:
    queue = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    created = World(project, lead, annotator, other_annotator, queue)
    created.grow(1)
    return created


@pytest.mark.parametrize("name", list(LISTS))
def test_it_reads_a_list_in_a_bounded_number_of_queries(
    world: World, name: str, django_assert_max_num_queries: Any
) -> None:
    request = LISTS[name](world)
    request()  # the first request warms caches (session, guideline renders) as in use
    with_one = _count(request)
    world.grow(3)

    with django_assert_max_num_queries(min(with_one, CEILING)):
        response = request()

    assert response.status_code == 200


def test_it_lists_each_queue_with_its_own_latest_fill(world: World) -> None:
    newer = {
        queue.pk: QueueFill.objects.create(queue=queue, trigger=FillTrigger.SCHEDULE).pk
        for queue in Queue.objects.filter(fills__isnull=False).distinct()
    }

    listed = world.lead.client().get("/api/v1/queues").json()

    last = {row["id"]: (row["last_fill"] or {}).get("id") for row in listed}
    assert last == {world.queue.pk: None, **newer}
