"""The annotators' hot path: `next` and submit over the API, their round trips and correctness.

On PostgreSQL `next` is one statement and a plain submit two (after authentication, with the
queue's definition cached); SQLite takes the simpler path. The behaviour tests run on both.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Annotation, ItemState, Lease, LeaseState, Project, Queue, QueueItem
from annotation.services.guidelines import guideline_publish
from annotation.services.leasing import lease_next
from annotation.services.projects import member_upsert, project_create
from annotation.services.queues import queue_create, queue_fill_now, queue_update
from feedbackloop.celery import app as celery_app
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA
from tests.review.conftest import make_queue
from tests.review.data import flag, interaction, rating

BAD = {"values": {"verdict": "bad", "reasons": ["incorrect"]}}
GOOD = {"values": {"verdict": "good"}}


def _fill(queue: Queue, count: int) -> list[QueueItem]:
    for n in range(count):
        rating(interaction(queue.project, f"{queue.name}-{n}"), 0.0)
    queue_fill_now(queue=queue)
    return list(QueueItem.objects.filter(queue=queue).order_by("-priority", "id"))


def _next(persona: Persona, queue: Queue) -> Any:
    return persona.client().post(f"/api/v1/queues/{queue.pk}/next")


def _submit(persona: Persona, item_id: int, body: dict[str, Any] = BAD) -> Any:
    return persona.client().post(f"/api/v1/items/{item_id}/annotations", body, format="json")


def _after_auth(captured: CaptureQueriesContext) -> list[str]:
    """The statements a request ran, less the token look-up (and its last-used update)."""
    return [q["sql"] for q in captured.captured_queries if "annotation_apitoken" not in q["sql"]]


# -- round trips (PostgreSQL: the single-statement path) -------------------------------------------


@pytest.mark.postgresql
def test_next_and_submit_take_one_and_two_round_trips(transactional_db: Any) -> None:
    """Autocommit, as under gunicorn: no transaction wraps the request, so each statement is one
    round trip (no BEGIN or COMMIT around it)."""
    project = project_create(name="hot").obj.project
    people = [
        member_upsert(username=f"hot{n}", project=project, role="annotator") for n in range(2)
    ]
    annotator, other = (Persona(user=p.obj.user, token=p.secret) for p in people)
    queue = make_queue(project, [annotator, other], overlap=2)
    guideline_publish(project=project, text="# Be kind")
    _fill(queue, 3)
    _next(annotator, queue)  # warms the per-queue cache (and the token's last-used stamp)
    first = _next(annotator, queue).json()["item"]["id"]

    with CaptureQueriesContext(connection) as held_again:
        response = _next(annotator, queue)
    assert response.status_code == 200 and response.json()["item"]["id"] == first
    assert len(_after_auth(held_again)) == 1, _after_auth(held_again)

    with CaptureQueriesContext(connection) as submitted:
        response = _submit(annotator, first)
    assert response.status_code == 201, response.content
    assert response.json()["item_state"] == ItemState.OPEN
    assert len(_after_auth(submitted)) == 2, _after_auth(submitted)

    with CaptureQueriesContext(connection) as leased:
        response = _next(annotator, queue)
    body = response.json()
    assert response.status_code == 200 and body["item"]["id"] != first
    assert body["guideline"]["text"] == "# Be kind"
    assert len(_after_auth(leased)) == 1, _after_auth(leased)

    # The second answer completes the item: still two statements (no Celery beat stand-in).
    _next(other, queue)
    celery_app.conf.task_always_eager = False
    with CaptureQueriesContext(connection) as completed:
        response = _submit(other, first, GOOD)
    assert response.status_code == 201, response.content
    assert response.json()["item_state"] == ItemState.NEEDS_ADJUDICATION
    assert len(_after_auth(completed)) == 2, _after_auth(completed)
    assert len(_after_auth(completed)) <= 3


@pytest.mark.postgresql
def test_a_stale_cached_definition_is_read_again(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    _fill(queue, 3)
    first = _next(annotator, queue).json()
    assert first["schema"] == REVIEW_SCHEMA
    schema = {"fields": [{"name": "verdict", "type": "choice", "options": ["ok", "not_ok"]}]}
    # A change that does not go through the services (no invalidation): the leasing statement
    # sees the newer updated_at and the definition is read again.
    Queue.objects.filter(pk=queue.pk).update(schema=schema, updated_at=timezone.now())

    second = _next(other_annotator, queue).json()

    assert second["schema"] == schema
    queue_update(queue=queue, lease_minutes=30)
    _submit(other_annotator, second["item"]["id"], {"values": {"verdict": "ok"}})
    third = _next(other_annotator, queue).json()
    leased_at = timezone.datetime.fromisoformat(third["lease"]["leased_at"])
    expires_at = timezone.datetime.fromisoformat(third["lease"]["expires_at"])
    assert expires_at - leased_at == timedelta(minutes=30)


# -- behaviour (both databases) --------------------------------------------------------------------


def test_the_held_lease_comes_back_with_its_guideline_and_sampling_metadata(
    project: Project, annotator: Persona, other_annotator: Persona, checks: Any
) -> None:
    queue = make_queue(
        project,
        [annotator, other_annotator],
        sources=[
            {"type": "low_rated", "threshold": 0.4},
            {"type": "flagged", "checks": ["pii"]},
        ],
        overlap=2,
    )
    v1 = guideline_publish(project=project, text="# v1")
    both = interaction(project, "both")
    rating(both, 0.0)
    flag(both, checks["pii"])
    queue_fill_now(queue=queue)
    item = QueueItem.objects.get(queue=queue)

    first = _next(annotator, queue).json()
    guideline_publish(project=project, text="# v2")
    again = _next(annotator, queue).json()
    theirs = _next(other_annotator, queue).json()

    assert first == again  # same item, same lease, the guideline shown when it was leased
    assert first["guideline"] == {"version": v1.version, "text": "# v1"}
    assert first["item"]["reasons"] == item.reasons == ["low_rated", "flagged"]
    assert first["item"]["inclusion_probability"] == item.inclusion_probability
    assert first["item"]["interaction"]["request_id"] == "both"
    assert theirs["guideline"]["version"] == v1.version + 1
    assert Lease.objects.get(annotator=annotator.user).guideline_id == v1.pk
    item.refresh_from_db()
    assert (item.leases_active, item.state) == (2, ItemState.IN_PROGRESS)


def test_an_expired_lease_is_leased_again_and_overlap_holds(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    only = _fill(queue, 1)[0]
    mine = lease_next(queue=queue, annotator=annotator.user)
    assert mine is not None and mine.item.pk == only.pk
    assert lease_next(queue=queue, annotator=other_annotator.user) is None  # overlap 1: taken

    later = timezone.now() + timedelta(minutes=queue.lease_minutes + 1)
    theirs = lease_next(queue=queue, annotator=other_annotator.user, now=later)

    assert theirs is not None and theirs.item.pk == only.pk
    states = dict(Lease.objects.values_list("annotator_id", "state"))
    assert states == {annotator.user.pk: LeaseState.EXPIRED, other_annotator.user.pk: "active"}
    only.refresh_from_db()
    assert (only.leases_active, only.state) == (1, ItemState.IN_PROGRESS)
    # The first annotator's own lapsed lease: their next call takes nothing twice.
    assert lease_next(queue=queue, annotator=annotator.user, now=later) is None


def test_submit_refusals_keep_their_codes(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    first, second = _fill(queue, 2)
    _next(annotator, queue)

    assert _submit(other_annotator, first.pk).json()["error"]["code"] == "not_your_lease"
    assert _submit(other_annotator, second.pk).json()["error"]["code"] == "no_lease"
    bad = _submit(annotator, first.pk, {"values": {"verdict": "maybe"}})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_annotation"
    assert _submit(annotator, first.pk).status_code == 201
    assert _submit(annotator, first.pk).json()["error"]["code"] == "already_submitted"
    first.refresh_from_db()
    assert (first.state, first.annotations_done, first.leases_active) == (ItemState.DONE, 1, 0)
    assert first.finished_at is not None


# -- concurrency (PostgreSQL: threads on their own connections) ------------------------------------


@pytest.mark.postgresql
def test_annotators_over_the_api_never_share_a_slot(transactional_db: Any) -> None:
    project = project_create(name="api-crowd").obj.project
    created = [
        member_upsert(username=f"crowd{n}", project=project, role="annotator") for n in range(8)
    ]
    people = [Persona(user=c.obj.user, token=c.secret) for c in created]
    for n in range(20):
        rating(interaction(project, f"crowd-{n}"), 0.0)
    queue = queue_create(
        project=project,
        name="crowd",
        sources=[{"type": "low_rated"}],
        schema=REVIEW_SCHEMA,
        overlap=2,
        annotators=[p.user for p in people],
    )
    queue_fill_now(queue=queue)
    problems: list[str] = []
    held: dict[int, set[int]] = {}
    lock = threading.Lock()

    def work(persona: Persona) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {persona.token}")
        try:
            for _ in range(40):
                response = client.post(f"/api/v1/queues/{queue.pk}/next")
                if response.status_code == 204:
                    return
                item_id = response.json()["item"]["id"]
                with lock:
                    holders = held.setdefault(item_id, set())
                    if persona.user.pk in holders or len(holders) >= 2:
                        problems.append(f"item {item_id} held by {holders} and {persona.user}")
                    holders.add(persona.user.pk)
                with lock:
                    held[item_id].discard(persona.user.pk)
                answer = client.post(f"/api/v1/items/{item_id}/annotations", BAD, format="json")
                if answer.status_code != 201:
                    problems.append(f"submit {answer.status_code}: {answer.content[:200]!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert problems == []
    assert set(QueueItem.objects.filter(queue=queue).values_list("state", flat=True)) == {
        ItemState.DONE
    }
    assert Annotation.objects.filter(item__queue=queue).count() == 40
    per_pair = Counter(Annotation.objects.values_list("item_id", "annotator_id"))
    assert max(per_pair.values()) == 1
    per_item = Annotation.objects.values("item_id").annotate(n=Count("id"))
    assert {row["n"] for row in per_item} == {2}
    assert not Lease.objects.filter(state=LeaseState.ACTIVE).exists()
