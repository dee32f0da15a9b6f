"""Untrusted text everywhere the workspace shows it, in a real browser: nothing may run or load.

Each payload of tests/xss_payloads.py goes into a prompt, a response, a retrieved document, an A/B
alternative, a user comment, a flag's rationale, the annotator's own correction and comment, the
guideline and the queue's name. The browser fixtures fail the test on any dialog, any blocked
inline script or style (a CSP violation means something got through the escaping), any uncaught
error, and any request to another origin.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from annotation.models import Annotation, Feedback, Project
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona
from tests.factories import FlagFactory, GuidelineFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue
from tests.xss_payloads import XSS_PAYLOADS as ALL_PAYLOADS
from tests.xss_payloads import Payload

pytestmark = pytest.mark.browser

# PostgreSQL cannot store NUL; ingestion refuses it (see test_ingest_interactions), so the stored
# form of that payload is what a browser would see after replacement.
XSS_PAYLOADS = [Payload(p.name, p.text.replace("\x00", "\ufffd")) for p in ALL_PAYLOADS]

SCHEMA = {
    "fields": [
        {"name": "verdict", "type": "choice", "options": ["good", "bad"], "required": True},
        {"name": "pairwise", "type": "pairwise"},
        {"name": "relevance", "type": "relevance"},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
    ]
}


def test_no_payload_runs_anywhere_in_the_workspace(
    page: Page, live_url: str, annotator: Persona, project: Project
) -> None:
    GuidelineFactory(project=project, version=1, text="\n\n".join(p.text for p in XSS_PAYLOADS))
    queue = make_queue(project, [annotator], name=XSS_PAYLOADS[2].text, overlap=2, schema=SCHEMA)
    check = project.checks.get(name="pii")
    items = []
    for n, payload in enumerate(XSS_PAYLOADS):
        interaction = InteractionFactory(
            project=project,
            messages=[
                {"role": "system", "content": payload.text},
                {"role": "user", "content": payload.text},
            ],
            response=payload.text,
            retrieved_context=[
                {"id": f"doc-{n}", "text": payload.text, "source": payload.text[:100], "score": 0.5}
            ],
            metadata={"response_b": payload.text},
            prompt_template=payload.text[:200],
        )
        Feedback.objects.create(
            project=project,
            interaction=interaction,
            request_id=interaction.request_id,
            kind="comment",
            text=payload.text,
            timestamp=timezone.now(),
            received_at=timezone.now(),
        )
        FlagFactory(
            check_config=check,
            interaction=interaction,
            label=payload.text[:64],
            rationale=payload.text,
            spans=[{"start": 0, "end": min(5, len(payload.text)), "kind": payload.name}],
        )
        items.append(
            QueueItemFactory(queue=queue, interaction=interaction, priority=len(XSS_PAYLOADS) - n)
        )

    login(page, live_url, "annotator", "pw-0123456789")
    expect(page.locator("#queues")).to_contain_text(XSS_PAYLOADS[2].text)
    page.goto(f"{live_url}/queues/{queue.pk}/work")
    expect(page.locator(".markdown")).to_contain_text("[image: x]")
    screenshot(page, "workspace-xss")

    for n, payload in enumerate(XSS_PAYLOADS):
        expect(page.locator("article.item")).to_have_attribute("aria-label", f"Item {items[n].pk}")
        expect(page.locator(".response")).to_contain_text(payload.text.split()[0][:15])
        page.locator('input[name="verdict"][value="bad"]').check()
        page.locator(f'input[name="relevance__doc__doc-{n}"][value="irrelevant"]').check()
        page.locator("[data-correction]").fill(payload.text)
        page.locator('textarea[name="comment"]').fill(payload.text)
        page.keyboard.press("Control+Enter")

    expect(page.get_by_role("heading", name="Nothing left to do here")).to_be_visible()
    assert Annotation.objects.count() == len(XSS_PAYLOADS)
    assert {a.values["comment"] for a in Annotation.objects.all()} == {p.text for p in XSS_PAYLOADS}

    page.goto(f"{live_url}/queues/{queue.pk}/mine")
    expect(page.locator("#my-annotations")).to_be_visible()
    first = Annotation.objects.order_by("id").first()
    assert first is not None
    page.goto(f"{live_url}/annotations/{first.pk}/edit")
    expect(page.locator("#revise-form")).to_be_visible()
    screenshot(page, "workspace-xss-revise")
    assert page.evaluate("typeof window.__ran") == "undefined"


def test_payloads_in_form_values_come_back_inert_after_an_error(
    page: Page, live_url: str, annotator: Persona, project: Any
) -> None:
    queue = make_queue(project, [annotator], name="Errors", overlap=1, schema=SCHEMA)
    QueueItemFactory(queue=queue, interaction=InteractionFactory(project=project))
    login(page, live_url, "annotator", "pw-0123456789")
    page.goto(f"{live_url}/queues/{queue.pk}/work")
    payload = "</textarea><script>alert('comment')</script><img src=x onerror=alert(2)>"

    page.locator('textarea[name="comment"]').fill(payload)
    page.keyboard.press("Control+Enter")  # no verdict: refused, the form comes back

    expect(page.locator(".problem")).to_contain_text("Fix the fields")
    expect(page.locator('textarea[name="comment"]')).to_have_value(payload)
    assert not Annotation.objects.exists()
