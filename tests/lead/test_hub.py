from __future__ import annotations

from django.test import Client

from annotation.models import Project, Queue
from annotation.models.review import FillStatus, ItemState, QueueFill
from tests.conftest import Persona
from tests.factories import QueueItemFactory
from tests.lead.conftest import HTMX
from tests.review.conftest import make_queue
from tests.workspace.conftest import add_items, browser
from tests.xss_payloads import XSS_PAYLOADS


def test_the_hub_lists_the_queues_of_the_projects_the_lead_leads(
    lead: Persona, queue: Queue, other_annotator: Persona
) -> None:
    add_items(queue, 3)
    QueueItemFactory(queue=queue, state=ItemState.DONE, annotations_done=1)
    QueueItemFactory(queue=queue, state=ItemState.NEEDS_ADJUDICATION)
    QueueFill.objects.create(queue=queue, trigger="manual", status=FillStatus.DONE, added=3)

    response = browser(lead).get("/lead/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "support-bot" in html and "Weekly review" in html
    assert "open <strong>3</strong>" in html
    assert "needs adjudication <strong>1</strong>" in html
    assert 'value="1" aria-label="1 of 5 items done"' in html
    assert '<span class="tag">annotator</span>' in html
    assert "Done: 3 added" in html
    assert f'href="/lead/queues/{queue.pk}/edit"' in html
    assert f'href="/lead/queues/{queue.pk}/progress"' in html
    assert f'href="/lead/queues/{queue.pk}/adjudication"' in html
    assert f'href="/lead/queues/{queue.pk}/agreement"' in html
    assert 'href="/lead/queues/new?project=support-bot"' in html
    assert 'href="/lead/projects/support-bot/guidelines"' in html


def test_an_htmx_request_gets_only_the_queues_partial(lead: Persona, queue: Queue) -> None:
    response = browser(lead).get("/lead/", **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="lead-queues">')
    assert "Weekly review" in html


def test_the_hub_shows_a_project_without_queues(lead: Persona, project: Project) -> None:
    html = browser(lead).get("/lead/").content.decode()

    assert "No queue yet." in html


def test_the_hub_does_not_show_projects_the_user_does_not_lead(
    outsider: Persona, queue: Queue
) -> None:
    response = browser(outsider).get("/lead/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "other-bot" in html
    assert "support-bot" not in html and "Weekly review" not in html


def test_annotators_and_engineers_who_lead_nothing_are_refused(
    annotator: Persona, engineer: Persona, queue: Queue
) -> None:
    assert browser(annotator).get("/lead/").status_code == 403
    assert browser(engineer).get("/lead/").status_code == 403


def test_anonymous_users_are_sent_to_log_in(client: Client, queue: Queue) -> None:
    response = client.get("/lead/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/lead/"


def test_queue_names_and_usernames_are_escaped(lead: Persona, project: Project) -> None:
    payload = next(p.text for p in XSS_PAYLOADS if p.name == "img_onerror")
    make_queue(project, [], name=payload)

    html = browser(lead).get("/lead/").content.decode()

    assert payload not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_hub_reads_a_constant_number_of_queries(
    lead: Persona, project: Project, annotator: Persona, django_assert_max_num_queries: object
) -> None:
    for n in range(5):
        queue = make_queue(project, [annotator], name=f"queue {n}")
        add_items(queue, 2)
        QueueFill.objects.create(queue=queue, trigger="manual")
    client = browser(lead)

    with django_assert_max_num_queries(12):  # type: ignore[operator]
        assert client.get("/lead/").status_code == 200
