from __future__ import annotations

from typing import Any

from django.test import Client

from annotation.models import AgreementReport, Annotation, Queue
from annotation.models.review import Adjudication, ItemState, QueueItem
from tests.conftest import Persona
from tests.workspace.conftest import browser

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_agreement_page_shows_the_latest_report_with_a_chart(
    lead: Persona, disputed_queue: Queue, django_capture_on_commit_callbacks: Any
) -> None:
    client = browser(lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/lead/queues/{disputed_queue.pk}/agreement")

    page = client.get(f"/lead/queues/{disputed_queue.pk}/agreement")
    partial = client.get(f"/lead/queues/{disputed_queue.pk}/agreement", **HTMX)

    html = page.content.decode()
    assert page.status_code == 200
    assert '<svg class="chart"' in html and 'id="fields"' in html and 'id="annotators"' in html
    assert "third_annotator" in html
    assert partial.content.decode().lstrip().startswith('<section id="report"')
    # Fleiss' kappa beside alpha, with its interval and the items it stands on.
    assert "Fleiss" in html and "on 3 complete items" in html
    assert 'id="settled"' in html


def test_a_running_report_polls_for_progress(lead: Persona, disputed_queue: Queue) -> None:
    report = AgreementReport.objects.create(queue=disputed_queue, status="running", progress=0.4)

    html = (
        browser(lead)
        .get(f"/lead/queues/{disputed_queue.pk}/agreement?report={report.pk}", **HTMX)
        .content.decode()
    )

    assert 'hx-trigger="every 1s"' in html
    assert "40%" in html


def test_agreement_and_adjudication_pages_are_for_leads_only(
    annotator: Persona, engineer: Persona, outsider: Persona, disputed_queue: Queue, db: Any
) -> None:
    item = QueueItem.objects.filter(
        queue=disputed_queue, state=ItemState.NEEDS_ADJUDICATION
    ).first()
    assert item is not None
    urls = [
        f"/lead/queues/{disputed_queue.pk}/agreement",
        f"/lead/queues/{disputed_queue.pk}/adjudication",
        f"/lead/queues/{disputed_queue.pk}/items/{item.pk}/adjudicate",
    ]
    for url in urls:
        assert browser(annotator).get(url).status_code == 403, url
        assert browser(engineer).get(url).status_code == 403, url
        assert browser(outsider).get(url).status_code == 404, url
        assert Client().get(url).status_code == 302, url


def test_the_adjudication_list_shows_disputed_items(lead: Persona, disputed_queue: Queue) -> None:
    disputed = QueueItem.objects.get(queue=disputed_queue, state=ItemState.NEEDS_ADJUDICATION)

    page = browser(lead).get(f"/lead/queues/{disputed_queue.pk}/adjudication")
    partial = browser(lead).get(f"/lead/queues/{disputed_queue.pk}/adjudication", **HTMX)

    assert f"/items/{disputed.pk}/adjudicate" in page.content.decode()
    assert "<html" not in partial.content.decode() and "Answer 1" in partial.content.decode()


def test_a_lead_sets_final_values_and_the_item_is_done(
    lead: Persona, disputed_queue: Queue
) -> None:
    item = QueueItem.objects.get(queue=disputed_queue, state=ItemState.NEEDS_ADJUDICATION)
    url = f"/lead/queues/{disputed_queue.pk}/items/{item.pk}/adjudicate"
    client = browser(lead)

    shown = client.get(url).content.decode()
    refused = client.post(url, {"verdict": "terrible"})
    settled = client.post(url, {"verdict": "bad", "rating": "2"})

    assert "disagree on verdict" in shown
    assert 'value="bad" checked' in shown  # the majority answer is suggested
    assert "<ins>" in shown or "<del>" in shown  # the correction's diff against the response
    assert refused.status_code == 422 and "not allowed" in refused.content.decode()
    assert settled.status_code == 302
    item.refresh_from_db()
    assert item.state == ItemState.DONE
    assert Adjudication.objects.get(item=item).values == {"verdict": "bad", "rating": 2}


def test_a_report_that_fails_shows_as_failed_with_its_reason(
    transactional_db: Any, lead: Persona, disputed_queue: Queue
) -> None:
    # Committed as the demo commits (no broker, eager Celery): the report is computed, and
    # here fails, before the POST answers.
    # Values that are not a JSON object (left by an old import): the report cannot read them.
    broken = Annotation.objects.filter(item__queue=disputed_queue).first()
    assert broken is not None
    Annotation.objects.filter(pk=broken.pk).update(values=["bad"])
    client = browser(lead)

    posted = client.post(f"/lead/queues/{disputed_queue.pk}/agreement", **HTMX)
    page = client.get(f"/lead/queues/{disputed_queue.pk}/agreement")

    assert posted.status_code == 200
    for html in (posted.content.decode(), page.content.decode()):
        assert "failed" in html
        assert f"annotation {broken.pk}" in html and "not a JSON object" in html
        assert "No report yet" not in html
    assert AgreementReport.objects.get(queue=disputed_queue).status == "failed"
