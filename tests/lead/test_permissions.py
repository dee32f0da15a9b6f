"""Only leads of the queue's project reach the lead pages; everybody else is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from annotation.models import Guideline, Queue, QueueFill
from annotation.models.review import QueueState
from tests.conftest import Persona
from tests.lead.conftest import HTMX, form_data
from tests.workspace.conftest import browser

Page = Callable[[Queue], str]

QUEUE_PAGES: list[tuple[str, str]] = [
    ("get", "/lead/queues/{queue}/edit"),
    ("post", "/lead/queues/{queue}/edit"),
    ("post", "/lead/queues/{queue}/preview"),
    ("post", "/lead/queues/{queue}/pause"),
    ("post", "/lead/queues/{queue}/resume"),
    ("post", "/lead/queues/{queue}/fill"),
    ("get", "/lead/queues/{queue}/fills/{fill}"),
    ("get", "/lead/queues/{queue}/progress"),
]
PROJECT_PAGES: list[tuple[str, str]] = [
    ("get", "/lead/queues/new?project=support-bot"),
    ("post", "/lead/queues/new?project=support-bot"),
    ("post", "/lead/queues/new/preview?project=support-bot"),
    ("get", "/lead/projects/support-bot/guidelines"),
    ("post", "/lead/projects/support-bot/guidelines"),
    ("post", "/lead/projects/support-bot/guidelines/preview"),
    ("get", "/lead/projects/support-bot/guidelines/1"),
]
EVERY_PAGE = QUEUE_PAGES + PROJECT_PAGES
# A valid save redirects to the page of what was saved.
SAVES = {
    "/lead/queues/{queue}/edit",
    "/lead/queues/new?project=support-bot",
    "/lead/projects/support-bot/guidelines",
}


@pytest.fixture
def fill(queue: Queue) -> QueueFill:
    return QueueFill.objects.create(queue=queue, trigger="manual")


def _request(client: Client, method: str, url: str, **extra: str) -> int:
    if method == "get":
        return client.get(url, **extra).status_code  # type: ignore[arg-type]
    data = form_data(name="Tampered", state="archived") | {"text": "Tampered."}
    return client.post(url, data, **extra).status_code  # type: ignore[arg-type]


def _url(template: str, queue: Queue, fill: QueueFill) -> str:
    return template.format(queue=queue.pk, fill=fill.pk)


def _unchanged(queue: Queue) -> None:
    queue.refresh_from_db()
    assert queue.name == "Weekly review" and queue.state == QueueState.ACTIVE
    assert not Queue.objects.filter(name="Tampered").exists()
    assert not Guideline.objects.filter(text="Tampered.").exists()
    assert QueueFill.objects.filter(queue=queue).count() == 1


@pytest.mark.parametrize(("method", "template"), EVERY_PAGE)
def test_the_lead_reaches_every_page(
    lead: Persona, queue: Queue, fill: QueueFill, guideline: Guideline, method: str, template: str
) -> None:
    status = _request(browser(lead), method, _url(template, queue, fill), **HTMX)

    assert status == (302 if method == "post" and template in SAVES else 200)


@pytest.mark.parametrize(("method", "template"), EVERY_PAGE)
@pytest.mark.parametrize("who", ["annotator", "engineer"])
def test_members_who_do_not_lead_the_project_are_forbidden(
    request: pytest.FixtureRequest,
    queue: Queue,
    fill: QueueFill,
    guideline: Guideline,
    who: str,
    method: str,
    template: str,
) -> None:
    persona: Persona = request.getfixturevalue(who)

    status = _request(browser(persona), method, _url(template, queue, fill))

    assert status == 403
    _unchanged(queue)


@pytest.mark.parametrize(("method", "template"), EVERY_PAGE)
def test_leads_of_another_project_do_not_see_it(
    outsider: Persona,
    queue: Queue,
    fill: QueueFill,
    guideline: Guideline,
    method: str,
    template: str,
) -> None:
    status = _request(browser(outsider), method, _url(template, queue, fill))

    assert status == 404
    _unchanged(queue)


@pytest.mark.parametrize(("method", "template"), EVERY_PAGE)
def test_anonymous_users_are_sent_to_log_in(
    client: Client, queue: Queue, fill: QueueFill, guideline: Guideline, method: str, template: str
) -> None:
    url = _url(template, queue, fill)

    response = client.get(url) if method == "get" else client.post(url, {})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/lead/")
    _unchanged(queue)


def test_a_lead_of_another_project_sees_only_their_own_queues(
    outsider: Persona, queue: Queue
) -> None:
    from tests.factories import ProjectFactory

    assert browser(outsider).get(f"/lead/queues/{queue.pk}/edit").status_code == 404
    unknown = ProjectFactory(name="nobodys")
    assert browser(outsider).get(f"/lead/projects/{unknown.name}/guidelines").status_code == 404
