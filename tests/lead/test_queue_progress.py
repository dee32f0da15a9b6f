from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotation.models import Annotation, Queue
from annotation.models.review import ItemState, Lease, LeaseState
from tests.conftest import Persona
from tests.lead.conftest import HTMX
from tests.workspace.conftest import add_items, browser


def _annotate(
    queue: Queue, persona: Persona, item_index: int, seconds: float, ago: timedelta
) -> None:
    item = queue.items.order_by("id")[item_index]
    at = timezone.now() - ago
    Annotation.objects.create(
        item=item,
        annotator=persona.user,
        values={"verdict": "bad"},
        seconds=seconds,
        created_at=at,
        updated_at=at,
    )


def test_progress_shows_items_by_state_and_reason_and_each_annotators_pace(
    lead: Persona, annotator: Persona, other_annotator: Persona, queue: Queue
) -> None:
    items = add_items(queue, 4)
    queue.items.filter(pk__in=[items[0].pk, items[1].pk]).update(state=ItemState.DONE)
    _annotate(queue, annotator, 0, 20.0, timedelta(minutes=5))
    _annotate(queue, annotator, 1, 40.0, timedelta(hours=3))
    now = timezone.now()
    Lease.objects.create(
        item=items[2],
        queue=queue,
        annotator=other_annotator.user,
        state=LeaseState.SKIPPED,
        leased_at=now,
        expires_at=now,
    )

    response = browser(lead).get(f"/lead/queues/{queue.pk}/progress")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "Progress of Weekly review" in html
    assert '<strong data-figure="done">2</strong> <span class="muted">of 4</span>' in html
    assert '<tr data-state="open"><th scope="row">open</th><td>2</td></tr>' in html
    assert '<tr data-state="done"><th scope="row">done</th><td>2</td></tr>' in html
    assert '<tr data-reason="low_rated"><th scope="row">low_rated</th><td>4</td></tr>' in html
    assert '<strong data-figure="median">30.0 s</strong>' in html
    row = html[html.index('<tr data-annotator="annotator">') :]
    row = row[: row.index("</tr>")]
    assert '<td data-col="done">2</td>' in row
    assert '<td data-col="skipped">0</td>' in row
    assert '<td data-col="median">30.0</td>' in row
    assert '<td data-col="pace">120.0</td>' in row
    assert '<td data-col="last-hour">1</td>' in row
    other = html[html.index('<tr data-annotator="other_annotator">') :]
    other = other[: other.index("</tr>")]
    assert "no longer assigned" in other and '<td data-col="skipped">1</td>' in other


def test_progress_refreshes_itself_every_ten_seconds_as_a_partial(
    lead: Persona, queue: Queue
) -> None:
    full = browser(lead).get(f"/lead/queues/{queue.pk}/progress").content.decode()
    partial = browser(lead).get(f"/lead/queues/{queue.pk}/progress", **HTMX)

    html = partial.content.decode()
    assert f'hx-get="/lead/queues/{queue.pk}/progress" hx-trigger="every 10s"' in full
    assert partial.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<section id="queue-stats"')
    assert 'hx-trigger="every 10s"' in html


def test_an_assigned_annotator_who_has_not_started_is_listed(
    lead: Persona, annotator: Persona, queue: Queue
) -> None:
    html = browser(lead).get(f"/lead/queues/{queue.pk}/progress").content.decode()

    row = html[html.index('<tr data-annotator="annotator">') :]
    assert '<td data-col="done">0</td>' in row[: row.index("</tr>")]
