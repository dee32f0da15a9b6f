"""An annotator removed from a queue or its project cannot write with what they held before."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import (
    Annotation,
    ItemState,
    Lease,
    LeaseState,
    Membership,
    Project,
    Queue,
    QueueItem,
)
from annotation.services.annotations import annotation_revise, annotation_submit
from annotation.services.leasing import NotAssigned, ReviewError, lease_next, lease_skip
from annotation.services.queues import queue_assign
from tests.conftest import Persona
from tests.review.conftest import make_queue
from tests.review.test_leasing import BAD, GOOD, fill_with
from tests.workspace.conftest import browser


def leave_project(persona: Persona, project: Project) -> None:
    """What a lead does in the admin: delete the membership (the queue assignment stays)."""
    Membership.objects.filter(project=project, user=persona.user).delete()


def refused(call: Any, **kwargs: Any) -> NotAssigned:
    with pytest.raises(NotAssigned) as raised:
        call(**kwargs)
    assert raised.value.code == "not_assigned"
    assert raised.value.status_code == 403
    return raised.value


def test_a_submit_on_a_lease_held_from_before_leaving_the_project_is_refused(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    (item,) = fill_with(queue, 1)
    assert lease_next(queue=queue, annotator=annotator.user) is not None
    leave_project(annotator, project)

    refused(annotation_submit, item_id=item.pk, annotator=annotator.user, values=BAD)

    assert not Annotation.objects.exists()
    # The held lease was handed back, so its slot is free for the others.
    assert Lease.objects.get(annotator=annotator.user).state == LeaseState.EXPIRED
    item.refresh_from_db()
    assert (item.leases_active, item.state) == (0, ItemState.OPEN)


def test_taking_an_annotator_off_the_queue_frees_the_slot_they_held(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    (item,) = fill_with(queue, 1)
    assert lease_next(queue=queue, annotator=annotator.user) is not None
    assert lease_next(queue=queue, annotator=other_annotator.user) is None

    queue_assign(queue=queue, annotators=[other_annotator.user])

    item.refresh_from_db()
    assert (item.leases_active, item.state) == (0, ItemState.OPEN)
    refused(annotation_submit, item_id=item.pk, annotator=annotator.user, values=BAD)
    refused(lease_next, queue=queue, annotator=annotator.user)
    taken = lease_next(queue=queue, annotator=other_annotator.user)
    assert taken is not None and taken.item.pk == item.pk


def test_a_removed_annotator_can_neither_revise_nor_skip(
    project: Project, annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    first, second = fill_with(review_queue, 2)
    lease_next(queue=review_queue, annotator=annotator.user)
    mine = annotation_submit(item_id=first.pk, annotator=annotator.user, values=BAD)
    lease_next(queue=review_queue, annotator=annotator.user)
    queue_assign(queue=review_queue, annotators=[other_annotator.user])

    refused(annotation_revise, annotation_id=mine.pk, annotator=annotator.user, values=GOOD)
    refused(lease_skip, item_id=second.pk, annotator=annotator.user)

    mine.refresh_from_db()
    assert (mine.values, mine.revision) == (BAD, 1)
    assert Lease.objects.get(item=second, annotator=annotator.user).state == LeaseState.EXPIRED


def test_leaving_the_project_alone_is_enough_to_be_refused_everywhere(
    project: Project, annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    first, _second = fill_with(review_queue, 2)
    lease_next(queue=review_queue, annotator=annotator.user)
    mine = annotation_submit(item_id=first.pk, annotator=annotator.user, values=BAD)
    leave_project(annotator, project)

    # Still in queue.annotators, but no longer a member: nothing to lease, nothing to change.
    with pytest.raises(ReviewError) as raised:
        lease_next(queue=review_queue, annotator=annotator.user)
    assert raised.value.code == "not_found"
    refused(annotation_revise, annotation_id=mine.pk, annotator=annotator.user, values=GOOD)


def test_the_api_answers_403_not_assigned_to_a_removed_annotator(
    project: Project, annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    first, second = fill_with(review_queue, 2)
    client = annotator.client()
    leased = client.post(f"/api/v1/queues/{review_queue.pk}/next").json()["item"]
    created = client.post(
        f"/api/v1/items/{leased['id']}/annotations", {"values": BAD}, format="json"
    ).json()
    held = client.post(f"/api/v1/queues/{review_queue.pk}/next").json()["item"]
    queue_assign(queue=review_queue, annotators=[other_annotator.user])
    leave_project(annotator, project)

    patched = client.patch(f"/api/v1/annotations/{created['id']}", {"values": GOOD}, format="json")
    submitted = client.post(
        f"/api/v1/items/{held['id']}/annotations", {"values": BAD}, format="json"
    )
    skipped = client.post(f"/api/v1/items/{held['id']}/skip")

    for response in (patched, submitted, skipped):
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "not_assigned"
        assert "support-bot" in error["message"]
    assert Annotation.objects.get().values == BAD
    assert QueueItem.objects.get(pk=held["id"]).leases_active == 0
    assert {first.pk, second.pk} == {leased["id"], held["id"]}


def test_the_workspace_refuses_a_removed_annotator(
    project: Project, annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    client = browser(annotator)
    client.post(f"/queues/{review_queue.pk}/work", follow=True)
    queue_assign(queue=review_queue, annotators=[other_annotator.user])

    response = client.post(f"/queues/{review_queue.pk}/items/{item.pk}/submit", {"verdict": "bad"})

    assert response.status_code == 404
    assert not Annotation.objects.exists()


def test_the_check_costs_no_query_on_the_submit_path(
    annotator: Persona, review_queue: Queue
) -> None:
    (item, _other) = fill_with(review_queue, 2)
    lease_next(queue=review_queue, annotator=annotator.user)
    with CaptureQueriesContext(connection) as submit:
        annotation_submit(item_id=item.pk, annotator=annotator.user, values=BAD)

    # Membership and assignment ride on the lease look-up: one SELECT reads the lease table
    # (on PostgreSQL the submit's one read of item, lease and standing; on SQLite the lease's).
    lease_reads = [
        q["sql"]
        for q in submit.captured_queries
        if q["sql"].lstrip().startswith("SELECT") and "annotation_lease" in q["sql"]
    ]
    assert len(lease_reads) == 1
    assert "annotation_membership" in lease_reads[0]
    assert "annotation_queue_annotators" in lease_reads[0]
