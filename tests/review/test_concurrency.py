"""20 annotators, each on its own connection, leasing and submitting until the queue is empty."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from annotation.models import Annotation, ItemState, Lease, LeaseState, Project, QueueItem
from annotation.services.annotations import annotation_submit
from annotation.services.leasing import ReviewError, lease_next
from annotation.services.projects import member_upsert, project_create
from annotation.services.queues import queue_create, queue_fill_now
from tests.factories import REVIEW_SCHEMA
from tests.review.data import interaction, rating

ANNOTATORS = 20
ITEMS = 60
OVERLAP = 3


@pytest.fixture
def crowd(transactional_db: Any) -> tuple[Project, list[User]]:
    project = project_create(name="crowd").obj.project
    users = [
        member_upsert(username=f"ann{n}", project=project, role="annotator").obj.user
        for n in range(ANNOTATORS)
    ]
    return project, users


@pytest.mark.postgresql  # SKIP LOCKED; test_leasing.py covers the SQLite path
def test_concurrent_annotators_never_share_a_slot(crowd: tuple[Project, list[User]]) -> None:
    project, users = crowd
    for n in range(ITEMS):
        rating(interaction(project, f"c-{n}"), 0.0)
    queue = queue_create(
        project=project,
        name="crowd",
        sources=[{"type": "low_rated"}],
        schema=REVIEW_SCHEMA,
        overlap=OVERLAP,
        annotators=users,
    )
    assert queue_fill_now(queue=queue).added == ITEMS

    lock = threading.Lock()
    holders: dict[int, set[int]] = defaultdict(set)
    most_at_once: dict[int, int] = defaultdict(int)
    problems: list[str] = []
    abandoned = 0

    def work(user: User, index: int) -> None:
        nonlocal abandoned
        try:
            deadline = time.monotonic() + 60
            count = 0
            while time.monotonic() < deadline:
                leased = lease_next(queue=queue, annotator=user)
                if leased is None:
                    if (
                        not QueueItem.objects.filter(queue=queue)
                        .exclude(state=ItemState.DONE)
                        .exists()
                    ):
                        return
                    time.sleep(0.02)  # others hold the rest; some of them will lapse
                    continue
                item_id = leased.item.pk
                with lock:
                    if user.pk in holders[item_id]:
                        problems.append(f"{user} holds two slots of item {item_id}")
                    holders[item_id].add(user.pk)
                    most_at_once[item_id] = max(most_at_once[item_id], len(holders[item_id]))
                count += 1
                if (count + index) % 7 == 0:
                    # Walk away: the lease lapses and its slot must return to the pool.
                    with lock:
                        holders[item_id].discard(user.pk)
                        abandoned += 1
                    Lease.objects.filter(pk=leased.lease.pk).update(
                        expires_at=timezone.now() - timedelta(seconds=1)
                    )
                    continue
                with lock:
                    holders[item_id].discard(user.pk)
                try:
                    annotation_submit(item_id=item_id, annotator=user, values={"verdict": "bad"})
                except ReviewError as exc:
                    problems.append(f"{user} on item {item_id}: {exc.code}")
            problems.append(f"{user} ran out of time")
        except Exception as exc:  # reported by the assertion below
            problems.append(f"{user}: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user, n)) for n, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert problems == []
    assert abandoned > 0
    assert max(most_at_once.values()) <= OVERLAP
    items = QueueItem.objects.filter(queue=queue)
    assert set(items.values_list("state", flat=True)) == {ItemState.DONE}
    assert set(items.values_list("annotations_done", "leases_active")) == {(OVERLAP, 0)}
    per_item = Annotation.objects.values("item").annotate(
        n=Count("id"), people=Count("annotator", distinct=True)
    )
    assert len(per_item) == ITEMS
    assert {(row["n"], row["people"]) for row in per_item} == {(OVERLAP, OVERLAP)}
    assert Lease.objects.filter(state=LeaseState.SUBMITTED).count() == ITEMS * OVERLAP
    assert not Lease.objects.filter(state=LeaseState.ACTIVE).exists()
