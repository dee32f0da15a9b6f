"""Number keys act on the field the annotator is in, or on the one the page marks, never elsewhere.

One queue whose schema has every field type (choice, multi_choice, likert, relevance per retrieved
document, pairwise A/B, correction and text), worked in a real browser with the keyboard; each test
asserts exactly what was saved. The browser fixtures also fail a test on any console error.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from annotation.models import Annotation, Project, Queue
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

pytestmark = pytest.mark.browser

RESPONSE = "Open Settings, then Security."
SCHEMA = {
    "fields": [
        {"name": "verdict", "type": "choice", "options": ["good", "bad", "unsure"]},
        {"name": "reasons", "type": "multi_choice", "options": ["incorrect", "unsafe", "rude"]},
        {"name": "rating", "type": "likert", "min": 1, "max": 5},
        {"name": "relevance", "type": "relevance"},
        {"name": "preference", "type": "pairwise"},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
    ]
}


def work_queue(project: Project, annotator: Persona, items: int = 1) -> Queue:
    queue = make_queue(project, [annotator], name="Every field", overlap=1, schema=SCHEMA)
    for n in range(items):
        QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(
                project=project,
                response=RESPONSE,
                retrieved_context=[
                    {"id": "doc-1", "text": "Passwords are reset in Settings.", "score": 0.9},
                    {"id": "doc-2", "text": "Invoices are under Billing.", "score": 0.4},
                ],
                metadata={"response_b": "Ask an administrator."},
            ),
            priority=items - n,
        )
    return queue


DOC_1, DOC_2 = "relevance__doc__doc-1", "relevance__doc__doc-2"


def group(page: Page, label: str) -> Locator:
    """A group of options number keys pick from, by the label the page gives it."""
    return page.locator(f'[data-keys="{label}"]')


def option(page: Page, name: str, value: str) -> Locator:
    """The input of one option; `name` is the form field's (relevance: one per document)."""
    return page.locator(f'input[name="{name}"][value="{value}"]')


def checked(page: Page, name: str) -> list[str]:
    boxes = page.locator(f'input[name="{name}"]:checked')
    return [boxes.nth(n).get_attribute("value") or "" for n in range(boxes.count())]


def marked(page: Page) -> list[str]:
    groups = page.locator("[data-keys].is-current")
    return [groups.nth(n).get_attribute("data-keys") or "" for n in range(groups.count())]


def blur(page: Page) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")


def submit_and_read(page: Page) -> dict[str, Any]:
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="Nothing left to do here")).to_be_visible()
    annotation = Annotation.objects.get()
    return dict(annotation.values)


def test_a_number_key_on_a_document_rating_rates_that_document_not_the_verdict(
    page: Page, live_url: str, annotator: Persona, project: Project
) -> None:
    queue = work_queue(project, annotator)
    login(page, live_url, "annotator", "pw-0123456789")
    page.goto(f"{live_url}/queues/{queue.pk}/work")

    option(page, DOC_2, "relevant").focus()
    page.keyboard.press("1")

    assert checked(page, "verdict") == []
    assert checked(page, DOC_2) == ["relevant"]
    assert marked(page) == ["Relevance of doc-2"]
    expect(page.locator("[data-key-status]")).to_have_text("Relevance of doc-2: Relevant")
    option(page, "verdict", "good").focus()
    page.keyboard.press("2")
    assert submit_and_read(page) == {
        "verdict": "bad",
        "relevance": {"doc-2": "relevant"},
    }


def test_every_field_type_takes_its_own_keys_and_text_boxes_keep_digits(
    page: Page, live_url: str, annotator: Persona, project: Project
) -> None:
    queue = work_queue(project, annotator)
    login(page, live_url, "annotator", "pw-0123456789")
    page.goto(f"{live_url}/queues/{queue.pk}/work")

    # Every option group shows its keys beside its options; the first one is marked on arrival.
    relevance = ["relevant", "partially_relevant", "irrelevant"]
    for label, name, options in [
        ("Verdict", "verdict", ["good", "bad", "unsure"]),
        ("Reasons", "reasons", ["incorrect", "unsafe", "rude"]),
        ("Rating", "rating", ["1", "2", "3", "4", "5"]),
        ("Relevance of doc-1", DOC_1, relevance),
        ("Relevance of doc-2", DOC_2, relevance),
        ("Preference", "preference", ["A", "B", "tie"]),
    ]:
        labels = group(page, label).locator("label")
        expect(labels).to_have_count(len(options))
        for n, value in enumerate(options, 1):
            expect(labels.nth(n - 1).locator(".key-hint")).to_have_text(str(n))
            expect(labels.nth(n - 1).locator(".key-hint")).to_be_visible()
            expect(labels.nth(n - 1).locator("input")).to_have_attribute("value", value)
            expect(option(page, name, value)).to_have_attribute("data-key", str(n))
    assert marked(page) == ["Verdict"]

    page.keyboard.press("2")  # focus starts on the verdict
    page.keyboard.press("Tab")  # into the reasons
    assert marked(page) == ["Reasons"]
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("3")  # a second press takes it back
    page.keyboard.press("2")
    page.keyboard.press("8")  # no option 8: nothing changes, and the page says so
    expect(page.locator("[data-key-status]")).to_have_text("Reasons has no option 8.")
    option(page, "rating", "1").focus()
    page.keyboard.press("4")
    option(page, DOC_1, "relevant").focus()
    page.keyboard.press("1")
    page.keyboard.press("Tab")  # to the next document's ratings
    assert marked(page) == ["Relevance of doc-2"]
    page.keyboard.press("2")
    option(page, "preference", "A").focus()
    page.keyboard.press("2")
    assert checked(page, "verdict") == ["bad"]
    assert checked(page, "reasons") == ["incorrect", "unsafe"]
    assert checked(page, "rating") == ["4"]
    assert checked(page, "preference") == ["B"]

    page.keyboard.press("e")
    page.keyboard.press("Control+A")
    page.keyboard.type("Open Settings 2, then Security 3.")
    page.locator("#field-comment").focus()
    page.keyboard.type("Seen 3 times, ticket 45")
    assert checked(page, "verdict") == ["bad"]
    assert checked(page, "preference") == ["B"]
    assert marked(page) == ["Preference"]  # the last group used stays marked

    # With focus on no field, the keys act on the marked group, which is in view.
    page.keyboard.press("Escape")
    page.keyboard.press("3")
    assert checked(page, "preference") == ["tie"]
    assert checked(page, "verdict") == ["bad"]
    screenshot(page, "workspace-key-scope")

    assert submit_and_read(page) == {
        "verdict": "bad",
        "reasons": ["incorrect", "unsafe"],
        "rating": 4,
        "relevance": {"doc-1": "relevant", "doc-2": "partially_relevant"},
        "preference": "tie",
        "correction": "Open Settings 2, then Security 3.",
        "comment": "Seen 3 times, ticket 45",
    }


def test_a_key_for_a_field_out_of_view_only_brings_it_into_view(
    page: Page, live_url: str, annotator: Persona, project: Project
) -> None:
    queue = work_queue(project, annotator)
    login(page, live_url, "annotator", "pw-0123456789")
    page.set_viewport_size({"width": 1280, "height": 420})
    page.goto(f"{live_url}/queues/{queue.pk}/work")
    option(page, "preference", "A").focus()
    blur(page)
    page.evaluate("window.scrollTo(0, 0)")
    assert not page.evaluate(
        "(() => { const box = document.querySelector('input[name=preference]').parentElement"
        ".getBoundingClientRect(); return box.top < window.innerHeight && box.bottom > 0; })()"
    ), "the test needs the marked group below the fold"

    page.keyboard.press("1")

    assert checked(page, "preference") == []
    assert checked(page, "verdict") == []
    expect(group(page, "Preference")).to_be_in_viewport()
    expect(page.locator("[data-key-status]")).to_have_text(
        "Number keys act on Preference; press again to choose."
    )
    page.keyboard.press("1")
    assert checked(page, "preference") == ["A"]

    # The same for the field with focus, when the page was scrolled away from it.
    page.evaluate("window.scrollTo(0, 0)")
    expect(group(page, "Preference")).not_to_be_in_viewport()
    page.keyboard.press("2")
    assert checked(page, "preference") == ["A"]
    expect(group(page, "Preference")).to_be_in_viewport()
    page.keyboard.press("2")
    assert checked(page, "preference") == ["B"]
    assert submit_and_read(page) == {"preference": "B"}


def test_keys_still_act_after_each_swap_and_skip_without_console_errors(
    page: Page, live_url: str, annotator: Persona, project: Project
) -> None:
    queue = work_queue(project, annotator, items=3)
    login(page, live_url, "annotator", "pw-0123456789")
    page.goto(f"{live_url}/queues/{queue.pk}/work")
    first = page.locator("article.item").get_attribute("aria-label")

    page.keyboard.press("s")
    expect(page.locator("[data-notice]")).to_have_text("Skipped.")
    assert page.locator("article.item").get_attribute("aria-label") != first
    page.keyboard.press("1")
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-notice]")).to_have_text("Saved.")
    option(page, DOC_1, "relevant").focus()
    page.keyboard.press("3")
    page.keyboard.press("Control+Enter")

    expect(page.get_by_role("heading", name="Nothing left to do here")).to_be_visible()
    assert [dict(a.values) for a in Annotation.objects.order_by("pk")] == [
        {"verdict": "good"},
        {"relevance": {"doc-1": "irrelevant"}},
    ]


def test_keys_change_nothing_behind_the_open_shortcut_list(
    page: Page, live_url: str, annotator: Persona, project: Project
) -> None:
    queue = work_queue(project, annotator)
    login(page, live_url, "annotator", "pw-0123456789")
    page.goto(f"{live_url}/queues/{queue.pk}/work")
    expect(page.locator("article.item")).to_be_visible()  # leased by the page's POST on load

    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("2")
    page.keyboard.press("s")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()

    assert checked(page, "verdict") == []
    page.keyboard.press("2")
    assert submit_and_read(page) == {"verdict": "bad"}
