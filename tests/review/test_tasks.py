from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotation.models import Lease, LeaseState, Project, Queue, QueueFill
from annotation.services.leasing import lease_next
from annotation.services.queues import queue_fill_now, queues_fill_due
from annotation.tasks.queues import expire_leases
from tests.conftest import Persona
from tests.review.conftest import make_queue
from tests.review.data import interaction, rating


def test_only_active_queues_whose_schedule_is_due_are_filled(
    project: Project, annotator: Persona, django_capture_on_commit_callbacks: object
) -> None:
    rating(interaction(project, "low"), 0.0)
    due = make_queue(project, [annotator], name="due", fill_every_minutes=30)
    make_queue(project, [annotator], name="paused", fill_every_minutes=30, state="paused")
    make_queue(project, [annotator], name="manual")
    later = make_queue(project, [annotator], name="later", fill_every_minutes=30)
    Queue.objects.filter(pk=later.pk).update(next_fill_at=timezone.now() + timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        fill_ids = queues_fill_due()

    fills = QueueFill.objects.filter(pk__in=fill_ids)
    assert [fill.queue_id for fill in fills] == [due.pk]
    assert fills[0].status == "done" and fills[0].added == 1
    due.refresh_from_db()
    assert due.next_fill_at is not None and due.next_fill_at > timezone.now() + timedelta(
        minutes=29
    )


def test_the_expiry_task_returns_lapsed_slots(
    project: Project, annotator: Persona, other_annotator: Persona
) -> None:
    rating(interaction(project, "low"), 0.0)
    queue = make_queue(project, [annotator, other_annotator])
    queue_fill_now(queue=queue)
    leased = lease_next(queue=queue, annotator=annotator.user)
    assert leased is not None
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert expire_leases.delay().get() == 1
    assert Lease.objects.get().state == LeaseState.EXPIRED
    assert expire_leases.delay().get() == 0


def test_stats_are_for_leads_and_engineers(
    project: Project, annotator: Persona, engineer: Persona, review_queue: Queue
) -> None:
    url = f"/api/v1/queues/{review_queue.pk}/stats"

    assert annotator.client().get(url).status_code == 403
    body = engineer.client().get(url).json()
    assert body["total"] == 0
    assert set(body["by_state"]) == {"open", "in_progress", "needs_adjudication", "done", "skipped"}
