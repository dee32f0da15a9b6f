"""An annotator works through a queue of 10 items in a real browser, using only the keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Annotation, Project
from annotation.models.review import ItemState, QueueItem
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona
from tests.factories import GuidelineFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

pytestmark = pytest.mark.browser


def current_item(page: Page) -> int:
    label = page.locator("article.item").get_attribute("aria-label") or ""
    return int(label.removeprefix("Item "))


def test_ten_items_by_keyboard_alone(
    page: Page, live_url: str, annotator: Persona, project: Project
) -> None:
    GuidelineFactory(
        project=project,
        version=1,
        text="# How to review\n\n1. Read the question.\n2. Judge the answer.",
    )
    queue = make_queue(project, [annotator], name="Keyboard queue", overlap=1)
    items = [
        QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(
                project=project,
                response=f"Answer number {n}: open Settings, then Security.",
                retrieved_context=[
                    {"id": f"kb-{n}", "text": "Passwords are reset in Settings.", "score": 0.8}
                ],
            ),
            priority=10 - n,
        )
        for n in range(10)
    ]
    login(page, live_url, "annotator", "pw-0123456789")
    navigations: list[str] = []
    page.goto(f"{live_url}/queues/{queue.pk}/work")
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    screenshot(page, "workspace-first-item")

    for n, item in enumerate(items):
        expect(page.locator("article.item")).to_have_attribute("aria-label", f"Item {item.pk}")
        if n == 4:
            page.keyboard.press("s")
            continue
        if n % 2 == 0:
            page.keyboard.press("1")  # verdict: good
        else:
            page.keyboard.press("2")  # verdict: bad
            page.keyboard.press("Tab")  # reasons
            page.keyboard.press("1")  # incorrect
            page.keyboard.press("e")
            page.keyboard.press("Control+A")
            page.keyboard.type(f"Corrected answer {n}.")
            if n == 1:
                expect(page.locator(".diff ins").first).to_contain_text("Corrected")
                screenshot(page, "workspace-correction-diff")
            page.keyboard.press("Tab")  # comment
            page.keyboard.type(f"Comment {n}")
        page.keyboard.press("Control+Enter")
        if n < 9:
            expect(page.locator("article.item")).to_have_attribute(
                "aria-label", f"Item {items[n + 1].pk}"
            )
            expect(page.locator("[data-notice]")).to_have_text("Saved.")

    expect(page.get_by_role("heading", name="Nothing left to do here")).to_be_visible()
    screenshot(page, "workspace-done")
    assert navigations == [], (
        "every submit and skip must swap the item in place, not reload the page"
    )

    stored = {a.item_id: a.values for a in Annotation.objects.all()}
    assert len(stored) == 9
    # The correction editor was left as the response: that is no correction, and none is stored.
    assert stored[items[0].pk] == {"verdict": "good"}
    assert stored[items[1].pk] == {
        "verdict": "bad",
        "reasons": ["incorrect"],
        "correction": "Corrected answer 1.",
        "comment": "Comment 1",
    }
    assert items[4].pk not in stored
    assert QueueItem.objects.get(pk=items[4].pk).state == ItemState.SKIPPED
    assert all(a.guideline.version == 1 and a.seconds is not None for a in Annotation.objects.all())


def test_the_shortcut_list_opens_with_a_question_mark(
    page: Page, live_url: str, annotator: Persona, project: Any
) -> None:
    queue = make_queue(project, [annotator], name="Help queue", overlap=1)
    QueueItemFactory(queue=queue, interaction=InteractionFactory(project=project))
    login(page, live_url, "annotator", "pw-0123456789")
    page.goto(f"{live_url}/queues/{queue.pk}/work")

    page.keyboard.press("?")

    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_role("dialog")).to_contain_text("Submit and take the next item")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()


def test_the_workspace_fits_a_narrow_laptop_window(
    page: Page, live_url: str, annotator: Persona, project: Any
) -> None:
    queue = make_queue(project, [annotator], name="Narrow", overlap=1)
    QueueItemFactory(
        queue=queue, interaction=InteractionFactory(project=project, response="word " * 400)
    )
    login(page, live_url, "annotator", "pw-0123456789")
    page.set_viewport_size({"width": 900, "height": 700})
    page.goto(f"{live_url}/queues/{queue.pk}/work")

    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )

    assert overflow <= 0
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    screenshot(page, "workspace-narrow")
