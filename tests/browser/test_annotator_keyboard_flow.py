"""An annotator logs in and works by keyboard alone, on a desktop and on a phone-sized window:
skip link, login form, the queue from the home page, submit, skip and its undo, a rewrite shown
side by side, and the previous item. The page fixture fails the test on any console error or
CSP violation (htmx's "find button" error after a keyboard submit or skip among them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Annotation, Project
from tests.browser.conftest import screenshot
from tests.conftest import Persona
from tests.factories import GuidelineFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

pytestmark = pytest.mark.browser


def tab_to(page: Page, text: str, limit: int = 40) -> None:
    """Press Tab until the focused element's text is `text`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(document.activeElement.textContent || '').trim()") == text:
            return
    raise AssertionError(f"Tab never reached {text!r}")


def item_id(page: Page) -> int:
    label = page.locator("article.item").get_attribute("aria-label") or ""
    return int(label.removeprefix("Item "))


@pytest.mark.parametrize("width", [1440, 390])
def test_an_annotator_works_by_keyboard_alone(
    page: Page,
    live_url: str,
    annotator: Persona,
    other_annotator: Persona,
    project: Project,
    width: int,
) -> None:
    page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
    GuidelineFactory(project=project, version=1, text="# Review\n\nJudge the answer.")
    # Overlap 2: items wait for the second annotator, so the first one's work stays revisable.
    queue = make_queue(project, [annotator, other_annotator], name="Keyboard queue", overlap=2)
    for n in range(4):
        QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(
                project=project, response=f"Answer {n}: open Settings, then Security."
            ),
            priority=10 - n,
        )

    page.goto(f"{live_url}/accounts/login/")
    expect(page.get_by_label("Username")).to_be_focused()  # the form takes focus on load
    page.keyboard.type("annotator")
    page.keyboard.press("Tab")
    page.keyboard.type("pw-0123456789")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your queues")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")  # past the header, into the page

    tab_to(page, "Start working")
    page.keyboard.press("Enter")
    expect(page.locator("article.item")).to_be_visible()
    first = item_id(page)
    expect(page.locator('[data-figure="left"]')).to_have_text("4")

    page.keyboard.press("1")  # verdict: good
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-notice]")).to_have_text("Saved.")
    expect(page.locator('[data-figure="today"]')).to_have_text("1")
    expect(page.locator('[data-figure="left"]')).to_have_text("3")
    second = item_id(page)
    assert second != first

    page.keyboard.press("s")
    expect(page.locator("[data-notice]")).to_have_text("Skipped.")
    assert item_id(page) != second
    page.keyboard.press("u")
    expect(page.locator("[data-notice]")).to_have_text("Skip undone.")
    assert item_id(page) == second

    page.keyboard.press("2")  # verdict: bad
    page.keyboard.press("e")
    page.keyboard.press("Control+A")
    page.keyboard.type("Please contact support by phone for a reset link.")
    expect(page.locator(".diff.side-by-side")).to_be_visible()  # a rewrite: two columns
    expect(page.locator("[data-diff-summary]")).to_contain_text("words changed")
    screenshot(page, f"workspace-keyboard-rewrite-{width}")
    page.keyboard.press("Escape")  # out of the text box
    page.keyboard.press("d")  # inline instead
    expect(page.locator(".diff.side-by-side")).to_have_count(0)
    expect(page.locator(".diff ins").first).to_be_visible()
    page.keyboard.press("Control+Enter")
    expect(page.locator('[data-figure="today"]')).to_have_text("2")
    saved = Annotation.objects.get(item_id=second)
    assert saved.values["correction"].startswith("Please contact support")

    page.keyboard.press("p")
    expect(
        page.get_by_role("heading", name=f"Revise your annotation of item {second}")
    ).to_be_visible()
    page.keyboard.press("Control+Enter")  # the revision saves in place (htmx), no console error
    expect(page.locator("#revise-form .notice")).to_have_text("Saved your revision.")
    assert Annotation.objects.get(item_id=second).revision == 2
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
