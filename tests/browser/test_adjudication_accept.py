"""One-click accept of an annotator's answers, by keyboard, with the saved confirmation and the
count left."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Project, Role
from annotation.models.review import Adjudication, ItemState
from tests.agreement.conftest import annotate
from tests.browser.conftest import login
from tests.conftest import Persona, _persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

pytestmark = pytest.mark.browser


def test_a_lead_accepts_an_annotators_answers_with_the_keyboard(
    page: Page, live_url: str, lead: Persona, annotator: Persona, project: Project
) -> None:
    second = _persona(project, "second", Role.ANNOTATOR)
    queue = make_queue(project, [annotator, second], name="Disputes", overlap=2)
    items = []
    for n in range(2):
        item = QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(project=project, response=f"Answer {n}."),
            annotations_done=2,
            state=ItemState.NEEDS_ADJUDICATION,
            priority=2 - n,
        )
        annotate(item, annotator, {"verdict": "good"})
        annotate(item, second, {"verdict": "bad", "correction": f"Better answer {n}."})
        items.append(item)

    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}/lead/queues/{queue.pk}/items/{items[0].pk}/adjudicate")
    expect(page.locator("[data-left]")).to_have_text("2")
    expect(page.locator('[data-said="verdict"]')).to_contain_text("second")

    page.locator('[data-accept="second"]').focus()
    page.keyboard.press("Enter")

    expect(page.locator("[data-saved]")).to_contain_text(
        f"Saved item {items[0].pk} with second's answers as final. 1 item left to adjudicate."
    )
    expect(page.locator("h1")).to_contain_text(f"Adjudicate item {items[1].pk}")
    expect(page.locator("[data-left]")).to_have_text("1")
    assert Adjudication.objects.get(item=items[0]).values == {
        "verdict": "bad",
        "correction": "Better answer 0.",
    }
