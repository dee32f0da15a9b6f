"""The webhooks page: full page, htmx partials, Redeliver, and who may open it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from annotation.models import Project, Webhook, WebhookDelivery
from annotation.services.deliveries import deliveries_enqueue, delivery_attempt
from tests.actions.conftest import make_webhook
from tests.actions.receiver import Receiver, Reply
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

PAGE = "/lead/projects/support-bot/webhooks"


def browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def failed(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> WebhookDelivery:
    receiver.script(Reply(status=400, body=b"bad"))
    with django_capture_on_commit_callbacks(execute=False):
        [delivery] = deliveries_enqueue(webhooks=[webhook], event="alert.fired", payload={})
    delivery_attempt(delivery_id=delivery.pk, attempt=1)
    delivery.refresh_from_db()
    return delivery


def test_a_lead_sees_webhooks_and_the_delivery_log(
    lead: Persona, webhook: Webhook, failed: WebhookDelivery
) -> None:
    response = browser(lead).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-webhook="{webhook.pk}"' in html
    assert f'id="delivery-{failed.pk}"' in html
    assert "failing" in html and "Redeliver" in html
    assert "The receiver answered 400: bad" in html
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_gets_the_log_alone_and_can_narrow_it(lead: Persona, failed: WebhookDelivery) -> None:
    response = browser(lead).get(PAGE, {"status": "delivered"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="log">')
    assert "No delivered deliveries." in html
    assert "<html" not in html
    bad = browser(lead).get(PAGE, {"status": "nope"})
    assert bad.status_code == 400


def test_redeliver_swaps_the_row(
    lead: Persona,
    failed: WebhookDelivery,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"{PAGE}/deliveries/{failed.pk}/redeliver"
    client = browser(lead)
    assert client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="delivery-{failed.pk}"')
    assert "pending" in html  # the send starts after the response's transaction commits
    failed.refresh_from_db()
    assert failed.status == "delivered"
    assert len(receiver.received) == 2
    plain = client.post(url)
    assert plain.status_code == 303 and plain["Location"] == PAGE


def test_untrusted_names_are_escaped(lead: Persona, project: Project) -> None:
    make_webhook(project, "http://127.0.0.1:9/x", name="<script>alert(1)</script>")
    html = browser(lead).get(PAGE).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_only_leads_of_the_project_open_it(
    annotator: Persona, engineer: Persona, outsider: Persona, failed: WebhookDelivery
) -> None:
    assert browser(annotator).get(PAGE).status_code == 403
    assert browser(engineer).get(PAGE).status_code == 403
    assert browser(outsider).get(PAGE).status_code == 404
    redeliver = f"{PAGE}/deliveries/{failed.pk}/redeliver"
    assert browser(engineer).post(redeliver).status_code == 403
    assert browser(outsider).post(redeliver).status_code == 404
    anonymous = Client().get(PAGE)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_another_projects_delivery_is_not_found(
    lead: Persona, other_keyed_project: Any, receiver: Receiver
) -> None:
    theirs = make_webhook(other_keyed_project.project, receiver.url, name="theirs")
    delivery = WebhookDelivery.objects.create(webhook=theirs, event="x", status="failed")
    response = browser(lead).post(f"{PAGE}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 404


def test_redeliver_pressed_again_while_sending_shows_the_row(
    lead: Persona, failed: WebhookDelivery, django_capture_on_commit_callbacks: Any
) -> None:
    url = f"{PAGE}/deliveries/{failed.pk}/redeliver"
    client = browser(lead)
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(url, HTTP_HX_REQUEST="true")
        again = client.post(url, HTTP_HX_REQUEST="true")
    assert first.status_code == again.status_code == 200
    assert "sending" in again.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)


def test_the_lead_hub_links_to_it(lead: Persona) -> None:
    from django.urls import reverse

    html = browser(lead).get(reverse("lead-hub")).content.decode()
    assert f'href="{PAGE}"' in html
