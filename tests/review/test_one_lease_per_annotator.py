"""One active lease per annotator and queue, held by the database even under concurrent `next`."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation.models import ItemState, Lease, LeaseState, Project, Queue, QueueItem
from annotation.services.annotations import annotation_submit
from annotation.services.leasing import lease_next
from annotation.services.projects import member_upsert, project_create
from annotation.services.queues import queue_create, queue_fill_now
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA
from tests.review.conftest import make_queue
from tests.review.data import interaction, rating
from tests.review.test_leasing import BAD, fill_with

CALLS = 12


@pytest.mark.postgresql  # threads; a sequential sibling covers SQLite
def test_concurrent_next_calls_of_one_annotator_lease_one_item(transactional_db: Any) -> None:
    project = project_create(name="solo").obj.project
    user = member_upsert(username="solo", project=project, role="annotator").obj.user
    for n in range(30):
        rating(interaction(project, f"s-{n}"), 0.0)
    queue = queue_create(
        project=project,
        name="solo",
        sources=[{"type": "low_rated"}],
        schema=REVIEW_SCHEMA,
        overlap=1,
        annotators=[user],
    )
    queue_fill_now(queue=queue)
    start = threading.Barrier(CALLS)
    got: list[int] = []
    problems: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            start.wait()
            leased = lease_next(queue=queue, annotator=User.objects.get(pk=user.pk))
            with lock:
                if leased is None:
                    problems.append("no item")
                else:
                    got.append(leased.item.pk)
        except Exception as exc:  # reported by the assertion below
            problems.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert problems == []
    assert len(got) == CALLS and len(set(got)) == 1
    assert Lease.objects.filter(annotator=user, state=LeaseState.ACTIVE).count() == 1
    items = QueueItem.objects.filter(queue=queue)
    assert sum(items.values_list("leases_active", flat=True)) == 1
    assert items.filter(state=ItemState.IN_PROGRESS).get().pk == got[0]


def test_the_database_refuses_a_second_active_lease_in_a_queue(
    annotator: Persona, review_queue: Queue
) -> None:
    first, second = fill_with(review_queue, 2)
    leased = lease_next(queue=review_queue, annotator=annotator.user)
    assert leased is not None and leased.item.pk == first.pk
    now = timezone.now()

    with pytest.raises(IntegrityError), transaction.atomic():
        Lease.objects.create(
            item=second,
            queue=review_queue,
            annotator=annotator.user,
            leased_at=now,
            expires_at=now + timedelta(minutes=15),
        )

    # Finished leases do not count: one active beside any number of others.
    annotation_submit(item_id=first.pk, annotator=annotator.user, values=BAD)
    again = lease_next(queue=review_queue, annotator=annotator.user)
    assert again is not None and again.item.pk == second.pk


def test_next_returns_the_held_lease_instead_of_a_second_item(
    annotator: Persona, review_queue: Queue
) -> None:
    fill_with(review_queue, 3)

    calls = [lease_next(queue=review_queue, annotator=annotator.user) for _ in range(3)]

    assert len({leased.item.pk for leased in calls if leased is not None}) == 1
    assert Lease.objects.filter(annotator=annotator.user).count() == 1


def test_a_lapsed_lease_nobody_swept_never_blocks_the_next_one(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], name="solo", overlap=1)
    first, second = fill_with(queue, 2)
    lease_next(queue=queue, annotator=other_annotator.user)  # holds the first item
    mine = lease_next(queue=queue, annotator=annotator.user)
    assert mine is not None and mine.item.pk == second.pk
    later = timezone.now() + timedelta(minutes=16)

    # The other annotator's lapsed lease is expired on the way; the caller's own lapsed lease
    # is expired before anything else, so the new one is the only active lease they hold.
    renewed = lease_next(queue=queue, annotator=annotator.user, now=later)

    assert renewed is not None
    assert Lease.objects.filter(annotator=annotator.user, state=LeaseState.ACTIVE).count() == 1
    assert renewed.lease.expires_at == later + timedelta(minutes=queue.lease_minutes)
    assert {i.pk: i.leases_active for i in QueueItem.objects.filter(queue=queue)} == {
        first.pk: 1 if renewed.item.pk == first.pk else 0,
        second.pk: 1 if renewed.item.pk == second.pk else 0,
    }
