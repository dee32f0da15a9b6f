"""The queue counters equal a recount after any sequence of what the services do.

A seeded simulation drives fills, leases, submits, skips and their undo, expiry, revisions,
adjudications, reassignments, hand-picked items and deletions in random order, and after every
few steps compares each counter with a count of the rows themselves (and folds the counters on
PostgreSQL along the way).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone

from annotation.models import Annotation, Interaction, ItemState, Lease, LeaseState, Project, Queue
from annotation.models.review import QueueCounter, QueueItem
from annotation.selectors.queue_counters import queue_counts
from annotation.services.annotations import annotation_revise, annotation_submit, item_adjudicate
from annotation.services.leasing import (
    ReviewError,
    lease_next,
    lease_skip,
    leases_expire,
    skip_undo,
)
from annotation.services.manual_items import queue_add_interactions
from annotation.services.projects import member_upsert
from annotation.services.queue_counters import queue_counters_compact
from annotation.services.queues import queue_assign, queue_fill_now
from tests.review.conftest import make_queue
from tests.review.data import interaction, label, rating


def recount(queue: Queue) -> dict[str, Any]:
    items = QueueItem.objects.filter(queue=queue)
    by_state = {state.value: 0 for state in ItemState}
    by_state.update(dict(items.values_list("state").annotate(n=Count("id")).order_by()))
    by_reason: Counter[str] = Counter()
    for reasons in items.values_list("reasons", flat=True):
        by_reason.update(reasons)
    done_by = dict(
        Annotation.objects.filter(item__queue=queue)
        .values_list("annotator_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    skipped_by = dict(
        Lease.objects.filter(queue=queue, state=LeaseState.SKIPPED)
        .values_list("annotator_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "by_state": by_state,
        "by_reason": dict(sorted(by_reason.items())),
        "done_by": done_by,
        "skipped_by": skipped_by,
    }


def counted(queue: Queue) -> dict[str, Any]:
    counts = queue_counts(queue.pk)
    return {
        "by_state": counts.by_state,
        "by_reason": counts.by_reason,
        "done_by": counts.done_by,
        "skipped_by": counts.skipped_by,
    }


@pytest.mark.parametrize("seed", range(1, 11))
def test_counters_equal_a_recount_after_random_operations(project: Project, seed: int) -> None:
    rng = random.Random(seed)
    people = [
        member_upsert(username=f"sim{n}", project=project, role="annotator").obj.user
        for n in range(5)
    ]
    lead = member_upsert(username="simlead", project=project, role="lead").obj.user
    queues = [
        make_queue(
            project,
            [],
            name=f"sim-{n}",
            sources=[{"type": "low_rated", "threshold": 0.4}, {"type": "random", "rate": 0.3}],
            overlap=rng.choice([1, 2, 3]),
            min_annotations_to_settle=1,
        )
        for n in range(2)
    ]
    for queue in queues:
        queue_assign(queue=queue, annotators=people[:4])
    made = 0
    now = timezone.now()

    def add_interactions(count: int) -> None:
        nonlocal made
        for _ in range(count):
            made += 1
            target = interaction(project, f"sim-{seed}-{made}")
            if rng.random() < 0.6:
                rating(target, rng.choice([0.0, 0.25, 1.0]))
            if rng.random() < 0.2:
                label(target, "incorrect")

    add_interactions(30)
    for queue in queues:
        queue_fill_now(queue=queue)

    def step() -> None:
        nonlocal now
        queue = rng.choice(queues)
        person = rng.choice(people)
        action = rng.random()
        try:
            if action < 0.35:
                lease_next(queue=queue, annotator=person, now=now)
            elif action < 0.6:
                held = Lease.objects.filter(
                    queue=queue, annotator=person, state=LeaseState.ACTIVE
                ).first()
                if held is not None:
                    verdict = rng.choice(["good", "bad"])
                    annotation_submit(
                        item_id=held.item_id,
                        annotator=person,
                        values={"verdict": verdict},
                        now=now,
                    )
            elif action < 0.68:
                held = Lease.objects.filter(
                    queue=queue, annotator=person, state=LeaseState.ACTIVE
                ).first()
                if held is not None:
                    lease_skip(item_id=held.item_id, annotator=person, now=now)
            elif action < 0.72:
                skipped = Lease.objects.filter(
                    queue=queue, annotator=person, state=LeaseState.SKIPPED
                ).first()
                if skipped is not None:
                    skip_undo(item_id=skipped.item_id, annotator=person, now=now)
            elif action < 0.76:
                now += timedelta(minutes=queue.lease_minutes + 1)
                leases_expire(now=now)
            elif action < 0.8:
                mine = Annotation.objects.filter(item__queue=queue, annotator=person).first()
                if mine is not None:
                    annotation_revise(
                        annotation_id=mine.pk,
                        annotator=person,
                        values={"verdict": rng.choice(["good", "bad"])},
                        now=now,
                    )
            elif action < 0.84:
                disputed = QueueItem.objects.filter(
                    queue=queue, state=ItemState.NEEDS_ADJUDICATION
                ).first()
                if disputed is not None:
                    item_adjudicate(item_id=disputed.pk, lead=lead, values={"verdict": "bad"})
            elif action < 0.88:
                queue_assign(queue=queue, annotators=rng.sample(people, rng.randint(1, 5)))
            elif action < 0.92:
                add_interactions(5)
                queue_fill_now(queue=queue)
            elif action < 0.95:
                ids = list(
                    Interaction.objects.filter(project=project)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                picked = rng.sample(ids, min(3, len(ids)))
                queue_add_interactions(queue=queue, interaction_ids=picked, added_by=lead)
            elif action < 0.97:
                ids = list(
                    QueueItem.objects.filter(queue=queue)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                if ids:
                    QueueItem.objects.get(pk=rng.choice(ids)).delete()
            else:
                queue_counters_compact()
        except ReviewError:
            pass  # refusals change nothing; the counters must agree with that too

    seen: set[str] = set()
    answered = 0
    for n in range(150):
        step()
        if n % 25 == 24:
            for queue in queues:
                truth = recount(queue)
                assert counted(queue) == truth, f"after step {n}"
                seen.update(state for state, count in truth["by_state"].items() if count)
                answered = max(answered, sum(truth["done_by"].values()))
    queue_counters_compact()
    for queue in queues:
        assert counted(queue) == recount(queue)
        assert sum(counted(queue)["by_state"].values()) > 0
    # The sequence did exercise the counters: answers were given and items settled.
    assert answered > 0
    assert seen & {ItemState.DONE, ItemState.NEEDS_ADJUDICATION, ItemState.SKIPPED}


def test_folding_keeps_the_sums_and_leaves_one_row_per_name(project: Project) -> None:
    queue = make_queue(project, [], name="fold", sources=[{"type": "random", "rate": 1.0}])
    for n in range(10):
        interaction(project, f"fold-{n}")
    queue_fill_now(queue=queue)
    QueueItem.objects.filter(queue=queue).update(state=ItemState.DONE)
    before = counted(queue)

    queue_counters_compact()

    assert counted(queue) == before == recount(queue)
    rows = QueueCounter.objects.filter(queue=queue).values_list("kind", "name")
    assert len(rows) == len(set(rows))
    assert before["by_state"][ItemState.DONE] == 10
    assert before["by_reason"] == {"random": 10}


def test_deleting_a_queue_leaves_no_counters(project: Project) -> None:
    queue = make_queue(project, [], name="gone", sources=[{"type": "random", "rate": 1.0}])
    interaction(project, "gone-1")
    queue_fill_now(queue=queue)
    assert QueueCounter.objects.filter(queue=queue).exists()

    pk = queue.pk
    queue.delete()

    assert not QueueCounter.objects.filter(queue_id=pk).exists()
