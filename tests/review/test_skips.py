"""A skip never destroys work: short items are settled on what they have, and a skip can be undone."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import (
    Annotation,
    ItemState,
    Lease,
    LeaseState,
    Project,
    Queue,
    QueueItem,
)
from annotation.selectors.adjudication import items_to_adjudicate
from annotation.services.annotations import annotation_revise, annotation_submit
from annotation.services.leasing import lease_next, lease_skip, skip_undo
from annotation.services.projects import member_upsert
from annotation.services.queues import queue_update
from tests.conftest import Persona
from tests.lead.conftest import form_data
from tests.review.conftest import make_queue
from tests.review.test_api_queues import QUEUES, definition, error_of
from tests.review.test_leasing import BAD, GOOD, fill_with, refuse
from tests.workspace.conftest import browser

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def third(project: Project) -> Persona:
    created = member_upsert(username="third", project=project, role="annotator")
    return Persona(user=created.obj.user, token=created.secret)


def annotate(queue: Queue, persona: Persona, values: dict[str, Any]) -> Annotation:
    leased = lease_next(queue=queue, annotator=persona.user)
    assert leased is not None
    return annotation_submit(item_id=leased.item.pk, annotator=persona.user, values=values)


def skip(queue: Queue, persona: Persona) -> QueueItem:
    leased = lease_next(queue=queue, annotator=persona.user)
    assert leased is not None
    return lease_skip(item_id=leased.item.pk, annotator=persona.user)


def test_a_skip_keeps_the_annotation_of_an_item_that_cannot_reach_its_overlap(
    annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    annotate(review_queue, annotator, BAD)

    skipped = skip(review_queue, other_annotator)

    # Overlap 2, one annotation, nobody left: below the minimum (the overlap), so a lead decides.
    assert skipped.state == ItemState.NEEDS_ADJUDICATION
    assert list(items_to_adjudicate(review_queue)) == [item]
    assert Annotation.objects.get(item=item).values == BAD


def test_a_queue_may_settle_short_items_on_fewer_annotations(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(
        project, [annotator, other_annotator], overlap=2, min_annotations_to_settle=1
    )
    fill_with(queue, 1)
    annotate(queue, annotator, BAD)

    settled = skip(queue, other_annotator)

    assert settled.state == ItemState.DONE
    assert settled.finished_at is not None
    assert (settled.annotations_done, settled.skips) == (1, 1)


def test_a_short_item_is_settled_on_agreement_like_a_full_one(
    project: Project, annotator: Persona, other_annotator: Persona, third: Persona
) -> None:
    queue = make_queue(
        project, [annotator, other_annotator, third], overlap=3, min_annotations_to_settle=2
    )
    agreeing, disputed = fill_with(queue, 2)
    for persona, first, second in ((annotator, BAD, BAD), (other_annotator, BAD, GOOD)):
        annotate(queue, persona, first)
        annotate(queue, persona, second)

    lease_next(queue=queue, annotator=third.user)
    lease_skip(item_id=agreeing.pk, annotator=third.user)
    lease_next(queue=queue, annotator=third.user)
    lease_skip(item_id=disputed.pk, annotator=third.user)

    agreeing.refresh_from_db()
    disputed.refresh_from_db()
    assert agreeing.state == ItemState.DONE
    assert disputed.state == ItemState.NEEDS_ADJUDICATION
    # A revision that settles the dispute finishes the short item; it does not reopen it.
    mine = Annotation.objects.get(item=disputed, annotator=other_annotator.user)
    annotation_revise(annotation_id=mine.pk, annotator=other_annotator.user, values=BAD)
    disputed.refresh_from_db()
    assert disputed.state == ItemState.DONE


def test_an_annotation_on_a_lease_held_while_the_item_was_settled_is_kept(
    project: Project, annotator: Persona, other_annotator: Persona, third: Persona
) -> None:
    queue = make_queue(
        project, [annotator, other_annotator, third], overlap=3, min_annotations_to_settle=2
    )
    (item,) = fill_with(queue, 1)
    lease_next(queue=queue, annotator=other_annotator.user)
    lease_next(queue=queue, annotator=third.user)
    skip_first = lease_skip(item_id=item.pk, annotator=third.user)
    # Two left for three slots: out of reach, but other_annotator is still on it.
    assert skip_first.state == ItemState.SKIPPED

    annotation_submit(item_id=item.pk, annotator=other_annotator.user, values=BAD)

    item.refresh_from_db()
    assert item.annotations_done == 1
    assert item.state == ItemState.NEEDS_ADJUDICATION
    assert Annotation.objects.filter(item=item).count() == 1


def test_an_item_without_annotations_is_the_only_kind_that_is_skipped(
    annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)

    skipped = skip(review_queue, annotator)

    assert skipped.state == ItemState.SKIPPED
    assert not Annotation.objects.filter(item=item).exists()


def test_undoing_a_skip_leases_the_item_again_and_hands_back_the_next_one(
    project: Project, annotator: Persona, other_annotator: Persona, third: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator, third], overlap=2)
    first, second = fill_with(queue, 2)
    skip(queue, annotator)
    moved_on = lease_next(queue=queue, annotator=annotator.user)
    assert moved_on is not None and moved_on.item.pk == second.pk

    undone = skip_undo(item_id=first.pk, annotator=annotator.user)

    assert undone.item.pk == first.pk
    assert undone.lease.state == LeaseState.ACTIVE
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.skips, first.leases_active, first.state) == (0, 1, ItemState.OPEN)
    assert (second.leases_active, second.state) == (0, ItemState.OPEN)
    again = lease_next(queue=queue, annotator=annotator.user)
    assert again is not None and again.item.pk == first.pk
    annotation_submit(item_id=first.pk, annotator=annotator.user, values=BAD)


def test_undoing_the_skip_that_retired_an_item_reopens_it(
    annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    assert skip(review_queue, annotator).state == ItemState.SKIPPED

    undone = skip_undo(item_id=item.pk, annotator=annotator.user)

    assert undone.item.state == ItemState.OPEN
    leased = lease_next(queue=review_queue, annotator=other_annotator.user)
    assert leased is not None and leased.item.pk == item.pk


def test_a_skip_is_undone_only_by_its_annotator_and_only_while_the_item_is_open(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(
        project, [annotator, other_annotator], overlap=2, min_annotations_to_settle=1
    )
    (item,) = fill_with(queue, 1)
    refuse("not_skipped", skip_undo, item_id=item.pk, annotator=annotator.user)
    annotate(queue, other_annotator, BAD)
    assert skip(queue, annotator).state == ItemState.DONE

    refuse("not_skipped", skip_undo, item_id=item.pk, annotator=other_annotator.user)
    refuse("item_settled", skip_undo, item_id=item.pk, annotator=annotator.user)
    assert Lease.objects.get(item=item, annotator=annotator.user).state == LeaseState.SKIPPED


def test_undo_waits_for_a_slot_when_every_free_slot_is_leased(
    project: Project, annotator: Persona, other_annotator: Persona, third: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator, third], overlap=1)
    (item,) = fill_with(queue, 1)
    skip(queue, annotator)
    lease_next(queue=queue, annotator=other_annotator.user)

    undone = skip_undo(item_id=item.pk, annotator=annotator.user)

    assert undone.lease.state == LeaseState.EXPIRED
    assert undone.item.state == ItemState.IN_PROGRESS
    assert lease_next(queue=queue, annotator=annotator.user) is None
    lease_skip(item_id=item.pk, annotator=other_annotator.user)
    back = lease_next(queue=queue, annotator=annotator.user)
    assert back is not None and back.item.pk == item.pk


def test_the_api_undoes_a_skip_with_delete(
    project: Project, annotator: Persona, other_annotator: Persona, third: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator, third], overlap=2)
    first, _second = fill_with(queue, 2)
    client = annotator.client()
    leased = client.post(f"{QUEUES}/{queue.pk}/next").json()["item"]
    client.post(f"/api/v1/items/{leased['id']}/skip")

    undone = client.delete(f"/api/v1/items/{leased['id']}/skip")
    again = client.delete(f"/api/v1/items/{leased['id']}/skip")
    stranger = other_annotator.client().delete(f"/api/v1/items/{leased['id']}/skip")

    assert undone.status_code == 200
    body = undone.json()
    assert (body["item"], body["state"]) == (first.pk, "open")
    assert body["lease"]["expires_at"]
    assert (again.status_code, error_of(again)["code"]) == (409, "not_skipped")
    assert (stranger.status_code, error_of(stranger)["code"]) == (409, "not_skipped")
    assert client.post(f"{QUEUES}/{queue.pk}/next").json()["item"]["id"] == first.pk


def test_the_schema_documents_the_skip_undo(db: Any) -> None:
    from django.test import Client

    schema = Client().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/items/{item_id}/skip"]["delete"]
    assert operation["operationId"] == "items_skip_undo"


def test_the_workspace_offers_to_undo_a_skip(
    project: Project, annotator: Persona, other_annotator: Persona, third: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator, third], overlap=2)
    first, second = fill_with(queue, 2)
    client = browser(annotator)
    client.post(f"/queues/{queue.pk}/work", follow=True)

    skipped = client.post(f"/queues/{queue.pk}/items/{first.pk}/skip", **HTMX)
    html = skipped.content.decode()
    undo_url = f"/queues/{queue.pk}/items/{first.pk}/skip/undo"
    assert f'hx-post="{undo_url}"' in html
    assert f'aria-label="Item {second.pk}"' in html

    undone = client.post(undo_url, **HTMX)

    html = undone.content.decode()
    assert undone.status_code == 200
    assert "Skip undone." in html
    assert f'aria-label="Item {first.pk}"' in html
    assert Lease.objects.get(item=second, annotator=annotator.user).state == LeaseState.EXPIRED


def test_without_javascript_the_undo_comes_after_the_redirect(
    project: Project, annotator: Persona, other_annotator: Persona, third: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator, third], overlap=2)
    first, _second = fill_with(queue, 2)
    client = browser(annotator)
    client.post(f"/queues/{queue.pk}/work", follow=True)

    skipped = client.post(f"/queues/{queue.pk}/items/{first.pk}/skip")
    page = client.get(skipped["Location"])
    undone = client.post(f"/queues/{queue.pk}/items/{first.pk}/skip/undo")

    assert skipped.status_code == 302
    assert skipped["Location"] == f"/queues/{queue.pk}/work?skipped={first.pk}"
    assert f'action="/queues/{queue.pk}/items/{first.pk}/skip/undo"' in (page.content.decode())
    assert undone.status_code == 302
    follow = client.get(undone["Location"]).content.decode()
    assert f'aria-label="Item {first.pk}"' in follow


def test_min_annotations_to_settle_is_validated_against_the_overlap(
    project: Project, annotator: Persona, other_annotator: Persona, lead: Persona
) -> None:
    too_many = lead.client().post(
        QUEUES, definition(overlap=2, min_annotations_to_settle=3), format="json"
    )
    created = lead.client().post(
        QUEUES, definition(overlap=2, min_annotations_to_settle=1), format="json"
    )

    assert too_many.status_code == 400
    assert "min_annotations_to_settle" in error_of(too_many)["details"]
    assert created.status_code == 201
    assert created.json()["min_annotations_to_settle"] == 1
    queue = Queue.objects.get(pk=created.json()["id"])
    with pytest.raises(Exception, match="min_annotations_to_settle"):
        queue_update(queue=queue, overlap=1, min_annotations_to_settle=2)
    cleared = lead.client().patch(
        f"{QUEUES}/{queue.pk}", {"min_annotations_to_settle": None}, format="json"
    )
    assert cleared.status_code == 200 and cleared.json()["min_annotations_to_settle"] is None


def test_the_queue_editor_sets_min_annotations_to_settle(
    lead: Persona, annotator: Persona, other_annotator: Persona
) -> None:
    new = "/lead/queues/new?project=support-bot"
    client = browser(lead)
    refused = client.post(
        new, form_data(overlap="2", min_annotations_to_settle="3", annotators=["annotator"])
    )
    saved = client.post(
        new, form_data(overlap="2", min_annotations_to_settle="1", annotators=["annotator"])
    )

    assert refused.status_code == 422
    assert "1 to the overlap (2)" in refused.content.decode()
    assert saved.status_code == 302
    queue = Queue.objects.get(name="Weekly review")
    assert queue.min_annotations_to_settle == 1
    page = client.get(f"/lead/queues/{queue.pk}/edit").content.decode()
    assert 'name="min_annotations_to_settle" value="1"' in page
