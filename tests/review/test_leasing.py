from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from annotation.models import (
    Annotation,
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Project,
    Queue,
    QueueItem,
)
from annotation.services.annotations import (
    AnnotationInvalid,
    annotation_revise,
    annotation_submit,
    item_adjudicate,
)
from annotation.services.guidelines import guideline_publish
from annotation.services.leasing import ReviewError, lease_next, lease_skip, leases_expire
from annotation.services.queues import queue_assign, queue_fill_now, queue_update
from tests.conftest import Persona
from tests.review.conftest import make_queue
from tests.review.data import interaction, rating

BAD = {"verdict": "bad", "reasons": ["incorrect"]}
GOOD = {"verdict": "good"}


def fill_with(queue: Queue, count: int) -> list[QueueItem]:
    for n in range(count):
        rating(interaction(queue.project, f"{queue.name}-{n}"), 0.0)
    queue_fill_now(queue=queue)
    return list(QueueItem.objects.filter(queue=queue).order_by("-priority", "id"))


def refuse(code: str, call: Any, **kwargs: Any) -> ReviewError:
    with pytest.raises(ReviewError) as raised:
        call(**kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


def test_next_leases_items_by_priority_then_age(
    project: Project, annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    items = fill_with(review_queue, 3)
    QueueItem.objects.filter(pk=items[2].pk).update(priority=5)

    first = lease_next(queue=review_queue, annotator=annotator.user)
    second = lease_next(queue=review_queue, annotator=other_annotator.user)

    assert first is not None and second is not None
    assert first.item.pk == items[2].pk
    # Overlap 2: the other annotator gets the same item's second slot.
    assert second.item.pk == items[2].pk
    assert first.lease.expires_at - first.lease.leased_at == timedelta(minutes=15)
    item = QueueItem.objects.get(pk=items[2].pk)
    assert (item.leases_active, item.state) == (2, ItemState.IN_PROGRESS)


def test_next_returns_the_lease_already_held(annotator: Persona, review_queue: Queue) -> None:
    fill_with(review_queue, 2)
    first = lease_next(queue=review_queue, annotator=annotator.user)
    again = lease_next(queue=review_queue, annotator=annotator.user)

    assert first is not None and again is not None
    assert again.lease.pk == first.lease.pk
    assert Lease.objects.filter(annotator=annotator.user).count() == 1


def test_an_item_is_never_given_twice_to_the_same_annotator(
    annotator: Persona, review_queue: Queue
) -> None:
    items = fill_with(review_queue, 2)

    seen = []
    while (leased := lease_next(queue=review_queue, annotator=annotator.user)) is not None:
        seen.append(leased.item.pk)
        annotation_submit(item_id=leased.item.pk, annotator=annotator.user, values=BAD)

    assert sorted(seen) == sorted(item.pk for item in items)
    assert all(
        state == ItemState.OPEN
        for state in QueueItem.objects.filter(queue=review_queue).values_list("state", flat=True)
    )


def test_next_answers_none_when_nothing_is_left(annotator: Persona, review_queue: Queue) -> None:
    assert lease_next(queue=review_queue, annotator=annotator.user) is None


def test_only_assigned_annotators_lease_from_active_queues(
    project: Project, annotator: Persona, lead: Persona, review_queue: Queue
) -> None:
    fill_with(review_queue, 1)
    refuse("not_assigned", lease_next, queue=review_queue, annotator=lead.user)
    paused = queue_update(queue=review_queue, state="paused")

    refuse("queue_paused", lease_next, queue=paused, annotator=annotator.user)


def test_expired_leases_return_to_the_pool_lazily_and_by_sweep(
    annotator: Persona, other_annotator: Persona, project: Project
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    (item,) = fill_with(queue, 1)
    leased = lease_next(queue=queue, annotator=annotator.user)
    assert leased is not None
    assert lease_next(queue=queue, annotator=other_annotator.user) is None

    later = timezone.now() + timedelta(minutes=16)
    taken = lease_next(queue=queue, annotator=other_annotator.user, now=later)

    assert taken is not None and taken.item.pk == item.pk
    assert Lease.objects.get(annotator=annotator.user).state == LeaseState.EXPIRED
    assert leases_expire(now=later + timedelta(minutes=16)) == 1
    item.refresh_from_db()
    assert (item.leases_active, item.state) == (0, ItemState.OPEN)


def test_an_item_is_done_when_all_its_annotators_agree(
    annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    for persona in (annotator, other_annotator):
        assert lease_next(queue=review_queue, annotator=persona.user) is not None
        annotation_submit(item_id=item.pk, annotator=persona.user, values=BAD)

    item.refresh_from_db()
    assert (item.state, item.annotations_done, item.leases_active) == (ItemState.DONE, 2, 0)
    assert item.finished_at is not None


def test_disagreement_on_an_agreement_field_needs_adjudication(
    annotator: Persona, other_annotator: Persona, lead: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    for persona, values in ((annotator, BAD), (other_annotator, GOOD)):
        lease_next(queue=review_queue, annotator=persona.user)
        annotation_submit(item_id=item.pk, annotator=persona.user, values=values)
    item.refresh_from_db()
    assert item.state == ItemState.NEEDS_ADJUDICATION

    refuse("forbidden", item_adjudicate, item_id=item.pk, lead=annotator.user, values=BAD)
    item_adjudicate(item_id=item.pk, lead=lead.user, values=BAD)

    item.refresh_from_db()
    assert item.state == ItemState.DONE
    assert item.adjudication.values == BAD


def test_a_revision_that_settles_the_disagreement_finishes_the_item(
    annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    for persona, values in ((annotator, BAD), (other_annotator, GOOD)):
        lease_next(queue=review_queue, annotator=persona.user)
        annotation_submit(item_id=item.pk, annotator=persona.user, values=values)
    mine = Annotation.objects.get(annotator=other_annotator.user)

    revised = annotation_revise(annotation_id=mine.pk, annotator=other_annotator.user, values=BAD)

    item.refresh_from_db()
    assert revised.revision == 2
    assert item.state == ItemState.DONE
    refuse(
        "item_settled",
        annotation_revise,
        annotation_id=mine.pk,
        annotator=other_annotator.user,
        values=GOOD,
    )


def test_only_the_author_revises(
    annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    lease_next(queue=review_queue, annotator=annotator.user)
    annotation = annotation_submit(item_id=item.pk, annotator=annotator.user, values=BAD)

    refuse(
        "not_found",
        annotation_revise,
        annotation_id=annotation.pk,
        annotator=other_annotator.user,
        values=GOOD,
    )


def test_submissions_are_refused_without_the_callers_valid_lease(
    project: Project, annotator: Persona, other_annotator: Persona, outsider: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    first, _second = fill_with(queue, 2)

    refuse("no_lease", annotation_submit, item_id=first.pk, annotator=annotator.user, values=BAD)
    lease_next(queue=queue, annotator=annotator.user)
    refuse(
        "not_your_lease",
        annotation_submit,
        item_id=first.pk,
        annotator=other_annotator.user,
        values=BAD,
    )
    refuse("not_found", annotation_submit, item_id=first.pk, annotator=outsider.user, values=BAD)
    with pytest.raises(AnnotationInvalid) as invalid:
        annotation_submit(item_id=first.pk, annotator=annotator.user, values={"verdict": "meh"})
    assert [e.field for e in invalid.value.errors] == ["values.verdict"]
    annotation_submit(item_id=first.pk, annotator=annotator.user, values=BAD)
    refuse(
        "already_submitted",
        annotation_submit,
        item_id=first.pk,
        annotator=annotator.user,
        values=BAD,
    )
    assert Annotation.objects.count() == 1
    assert QueueItem.objects.get(pk=first.pk).annotations_done == 1


def test_a_late_submission_is_kept_while_the_slot_is_free(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    (item,) = fill_with(queue, 1)
    lease_next(queue=queue, annotator=annotator.user)
    later = timezone.now() + timedelta(minutes=20)

    annotation_submit(item_id=item.pk, annotator=annotator.user, values=BAD, now=later)

    item.refresh_from_db()
    assert (item.state, item.annotations_done, item.leases_active) == (ItemState.DONE, 1, 0)


def test_a_late_submission_is_refused_once_the_slot_went_to_another(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=1)
    (item,) = fill_with(queue, 1)
    lease_next(queue=queue, annotator=annotator.user)
    later = timezone.now() + timedelta(minutes=20)
    lease_next(queue=queue, annotator=other_annotator.user, now=later)

    refuse(
        "lease_expired",
        annotation_submit,
        item_id=item.pk,
        annotator=annotator.user,
        values=BAD,
        now=later,
    )
    annotation_submit(item_id=item.pk, annotator=other_annotator.user, values=BAD, now=later)
    assert Annotation.objects.filter(item=item).count() == 1


def test_skipping_frees_the_slot_and_retires_items_nobody_can_finish(
    project: Project, annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    (item,) = fill_with(review_queue, 1)
    lease_next(queue=review_queue, annotator=annotator.user)

    skipped = lease_skip(item_id=item.pk, annotator=annotator.user)

    # Overlap 2 with two annotators, one of whom skipped: it can never be finished.
    assert skipped.state == ItemState.SKIPPED
    assert lease_next(queue=review_queue, annotator=other_annotator.user) is None
    refuse("skipped", lease_skip, item_id=item.pk, annotator=annotator.user)
    from annotation.services.projects import member_upsert

    third = member_upsert(username="third", project=project, role="annotator").obj.user
    queue_assign(queue=review_queue, annotators=[annotator.user, other_annotator.user, third])
    item.refresh_from_db()
    assert item.state == ItemState.OPEN
    leased = lease_next(queue=review_queue, annotator=other_annotator.user)
    assert leased is not None and leased.item.pk == item.pk


def test_each_annotation_records_the_guideline_version_it_was_made_under(
    project: Project, annotator: Persona, other_annotator: Persona, review_queue: Queue
) -> None:
    fill_with(review_queue, 2)
    guideline_publish(project=project, text="v1")
    leased = lease_next(queue=review_queue, annotator=annotator.user)
    assert leased is not None and leased.guideline is not None
    assert leased.guideline.version == 1
    annotation_submit(item_id=leased.item.pk, annotator=annotator.user, values=BAD)
    guideline_publish(project=project, text="v2")
    leased = lease_next(queue=review_queue, annotator=annotator.user)
    assert leased is not None
    annotation_submit(item_id=leased.item.pk, annotator=annotator.user, values=BAD)

    versions = sorted(
        Annotation.objects.filter(annotator=annotator.user).values_list(
            "guideline__version", flat=True
        )
    )
    assert versions == [1, 2]
    assert list(Guideline.objects.order_by("version").values_list("text", flat=True)) == [
        "v1",
        "v2",
    ]


def test_a_pinned_guideline_is_used_whatever_is_published_later(
    project: Project, annotator: Persona, review_queue: Queue
) -> None:
    fill_with(review_queue, 1)
    v1 = guideline_publish(project=project, text="v1")
    guideline_publish(project=project, text="v2")
    pinned = queue_update(queue=review_queue, guideline=v1)

    leased = lease_next(queue=pinned, annotator=annotator.user)

    assert leased is not None and leased.guideline == v1


def test_seconds_default_to_the_time_since_the_lease(
    annotator: Persona, review_queue: Queue
) -> None:
    fill_with(review_queue, 2)
    leased = lease_next(queue=review_queue, annotator=annotator.user)
    assert leased is not None
    later = leased.lease.leased_at + timedelta(seconds=42)

    annotation = annotation_submit(
        item_id=leased.item.pk, annotator=annotator.user, values=BAD, now=later
    )

    assert annotation.seconds == pytest.approx(42)
