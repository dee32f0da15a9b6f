"""A lead settles a disagreement in a real browser, end to end."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Project, Role
from annotation.models.review import Adjudication, ItemState, QueueItem
from tests.agreement.conftest import annotate
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona, _persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

pytestmark = pytest.mark.browser


def test_a_lead_adjudicates_a_disputed_item(
    page: Page, live_url: str, lead: Persona, annotator: Persona, project: Project
) -> None:
    second = _persona(project, "second", Role.ANNOTATOR)
    queue = make_queue(project, [annotator, second], name="Disputes", overlap=2)
    item = QueueItemFactory(
        queue=queue,
        interaction=InteractionFactory(
            project=project, response="The Team plan has unlimited storage."
        ),
        annotations_done=2,
        state=ItemState.NEEDS_ADJUDICATION,
    )
    annotate(item, annotator, {"verdict": "good"})
    annotate(item, second, {"verdict": "bad", "correction": "The Team plan has 5 TB of storage."})

    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}/lead/queues/{queue.pk}/adjudication")
    page.get_by_role("link", name="Adjudicate").click()
    expect(page.locator("#annotations")).to_contain_text("second")
    expect(page.locator(".diff ins").first).to_contain_text("5")
    screenshot(page, "adjudicate")
    page.get_by_label("bad").check()
    page.get_by_role("button", name="Set final values").click()

    expect(page.locator("#adjudication-list")).to_contain_text("Nothing to adjudicate")
    assert Adjudication.objects.get(item=item).values["verdict"] == "bad"
    assert QueueItem.objects.get(pk=item.pk).state == ItemState.DONE
