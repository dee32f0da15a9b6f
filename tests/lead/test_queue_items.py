"""A queue's items for its lead: states, reasons and annotations, paginated, filtered by state."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Queue
from annotation.models.review import ItemState
from tests.agreement.conftest import annotate
from tests.conftest import Persona
from tests.lead.conftest import HTMX
from tests.workspace.conftest import add_items, browser


def test_it_lists_items_with_state_reasons_and_who_answered_what(
    lead: Persona, annotator: Persona, queue: Queue
) -> None:
    items = add_items(queue, 3)
    queue.items.filter(pk=items[0].pk).update(state=ItemState.DONE, reasons=["low_rated", "random"])
    annotate(items[0], annotator, {"verdict": "bad", "comment": "<b>rude</b>"})

    response = browser(lead).get(f"/lead/queues/{queue.pk}/items")

    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert "3 items." in html
    row = html[html.index(f'data-item="{items[0].pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-state="done"' in row
    assert "low_rated" in row and "random" in row
    assert "<summary>annotator</summary>" in row and "bad" in row.lower()
    assert "&lt;b&gt;rude&lt;/b&gt;" in row


def test_it_filters_by_state_and_paginates(lead: Persona, queue: Queue) -> None:
    items = add_items(queue, 55)
    queue.items.filter(pk__in=[i.pk for i in items[:2]]).update(state=ItemState.DONE)
    client = browser(lead)

    done = client.get(f"/lead/queues/{queue.pk}/items?state=done", **HTMX).content.decode()
    first = client.get(f"/lead/queues/{queue.pk}/items").content.decode()
    second = client.get(f"/lead/queues/{queue.pk}/items?page=2").content.decode()

    assert done.lstrip().startswith('<section id="queue-items"')
    assert done.count("data-item=") == 2 and "2 items in state done." in done
    assert first.count("data-item=") == 50 and "Page 1 of 2" in first
    assert second.count("data-item=") == 5


def test_an_unknown_state_is_explained(lead: Persona, queue: Queue) -> None:
    add_items(queue, 2)

    response = browser(lead).get(f"/lead/queues/{queue.pk}/items?state=finished")

    assert response.status_code == 400
    html = response.content.decode()
    assert "&#x27;finished&#x27; is not an item state; choose one of open" in html
    assert html.count("data-item=") == 2


def test_a_page_takes_a_fixed_number_of_queries(
    lead: Persona, annotator: Persona, queue: Queue
) -> None:
    client = browser(lead)
    for item in add_items(queue, 3):
        annotate(item, annotator, {"verdict": "good"})
    with CaptureQueriesContext(connection) as few:
        client.get(f"/lead/queues/{queue.pk}/items")
    for item in add_items(queue, 20):
        annotate(item, annotator, {"verdict": "good"})
    with CaptureQueriesContext(connection) as many:
        client.get(f"/lead/queues/{queue.pk}/items")

    assert len(many) == len(few)


def test_only_the_queues_leads_see_it(
    queue: Queue, engineer: Persona, annotator: Persona, outsider: Persona
) -> None:
    assert browser(engineer).get(f"/lead/queues/{queue.pk}/items").status_code == 403
    assert browser(annotator).get(f"/lead/queues/{queue.pk}/items").status_code == 403
    assert browser(outsider).get(f"/lead/queues/{queue.pk}/items").status_code == 404
