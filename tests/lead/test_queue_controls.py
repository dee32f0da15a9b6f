from __future__ import annotations

from collections.abc import Callable
from typing import Any

from annotation.models import Project, Queue
from annotation.models.review import FillStatus, QueueFill, QueueState
from annotation.services.queues import queue_update
from tests.conftest import Persona
from tests.lead.conftest import HTMX
from tests.review.data import interaction, rating
from tests.workspace.conftest import browser


def test_pausing_a_queue_swaps_in_the_resume_button_and_the_state_field(
    lead: Persona, queue: Queue
) -> None:
    response = browser(lead).post(f"/lead/queues/{queue.pk}/pause", **HTMX)

    html = response.content.decode()
    queue.refresh_from_db()
    assert queue.state == QueueState.PAUSED
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="queue-controls"')
    assert "Paused: annotators get no new items." in html
    assert f'action="/lead/queues/{queue.pk}/resume"' in html
    # The editor's state select is swapped out of band, so saving the form keeps the pause.
    assert 'id="state-field" hx-swap-oob="true"' in html
    assert '<option value="paused" selected>' in html


def test_resuming_a_paused_queue_makes_it_active(lead: Persona, queue: Queue) -> None:
    queue_update(queue=queue, state=QueueState.PAUSED)

    response = browser(lead).post(f"/lead/queues/{queue.pk}/resume", **HTMX)

    queue.refresh_from_db()
    assert queue.state == QueueState.ACTIVE
    assert f'action="/lead/queues/{queue.pk}/pause"' in response.content.decode()


def test_without_javascript_pause_redirects_to_the_editor_with_a_notice(
    lead: Persona, queue: Queue
) -> None:
    client = browser(lead)

    response = client.post(f"/lead/queues/{queue.pk}/pause")

    assert response.status_code == 302
    assert response["Location"] == f"/lead/queues/{queue.pk}/edit"
    html = client.get(response["Location"]).content.decode()
    assert "Paused: annotators get no new items." in html
    assert '<option value="paused" selected>' in html


def test_fill_now_starts_the_task_and_polls_its_fill_until_done(
    lead: Persona,
    project: Project,
    queue: Queue,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    for n in range(2):
        rating(interaction(project, f"low-{n}"), 0.0)
    rating(interaction(project, "fine"), 1.0)
    client = browser(lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/lead/queues/{queue.pk}/fill", **HTMX)

    fill = QueueFill.objects.get(queue=queue)
    html = response.content.decode()
    assert "Fill started." in html
    assert (
        f'hx-get="/lead/queues/{queue.pk}/fills/{fill.pk}" hx-trigger="every 2s" '
        'hx-swap="outerHTML"'
    ) in html
    assert f"Fill {fill.pk} is pending" in html

    polled = client.get(f"/lead/queues/{queue.pk}/fills/{fill.pk}", **HTMX)

    html = polled.content.decode()
    fill.refresh_from_db()
    assert fill.status == FillStatus.DONE and fill.requested_by == lead.user
    assert html.lstrip().startswith('<div id="fill-status"')
    assert "hx-trigger" not in html  # done: polling stops
    assert "<strong>2</strong> items added (low_rated 2)" in html


def test_a_failed_fill_shows_its_error(lead: Persona, queue: Queue) -> None:
    fill = QueueFill.objects.create(
        queue=queue, trigger="manual", status=FillStatus.FAILED, error="disk full"
    )

    html = browser(lead).get(f"/lead/queues/{queue.pk}/fills/{fill.pk}", **HTMX).content.decode()

    assert f"Fill {fill.pk} failed: disk full" in html


def test_an_archived_queue_is_not_filled(lead: Persona, queue: Queue) -> None:
    queue_update(queue=queue, state=QueueState.ARCHIVED)

    response = browser(lead).post(f"/lead/queues/{queue.pk}/fill", **HTMX)

    assert "the queue is archived; set its state to active or paused to fill it" in (
        response.content.decode()
    )
    assert not QueueFill.objects.exists()


def test_the_fill_status_of_another_queue_is_not_found(
    lead: Persona, queue: Queue, project: Project
) -> None:
    from tests.review.conftest import make_queue

    other = make_queue(project, [], name="other")
    fill = QueueFill.objects.create(queue=other, trigger="manual")

    response = browser(lead).get(f"/lead/queues/{queue.pk}/fills/{fill.pk}", **HTMX)

    assert response.status_code == 404


def test_without_javascript_the_fill_status_link_leads_to_the_editor(
    lead: Persona, queue: Queue
) -> None:
    fill = QueueFill.objects.create(queue=queue, trigger="manual")

    response = browser(lead).get(f"/lead/queues/{queue.pk}/fills/{fill.pk}")

    assert response.status_code == 302
    assert response["Location"] == f"/lead/queues/{queue.pk}/edit"
