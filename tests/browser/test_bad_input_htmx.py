"""A NUL in a field sent by htmx: the 400's message shows at the top of the page, the form stays."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Annotation, Project
from tests.browser.conftest import PageProblems, login
from tests.conftest import Persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

pytestmark = pytest.mark.browser


def test_a_nul_in_a_field_shows_the_message_and_keeps_the_form(
    page: Page,
    page_problems: PageProblems,
    live_url: str,
    annotator: Persona,
    project: Project,
) -> None:
    queue = make_queue(project, [annotator], name="Nul queue", overlap=1)
    QueueItemFactory(queue=queue, interaction=InteractionFactory(project=project))
    login(page, live_url, "annotator", "pw-0123456789")
    page.goto(f"{live_url}/queues/{queue.pk}/work")
    expect(page.locator("article.item")).to_be_visible()

    page.locator("[data-submit-form] input[name=verdict][value=bad]").check()
    page.locator("#field-comment").evaluate("(el) => { el.value = 'before\\u0000after'; }")
    page.locator("[data-submit-form] button[type=submit]").first.click()

    message = page.locator("#main .bad-input")
    expect(message).to_contain_text("The field `comment` contains a NUL character")
    # Put above the form, not in place of it: the annotator's work is still there to fix.
    expect(page.locator("[data-submit-form]")).to_be_visible()
    assert Annotation.objects.count() == 0
    # The browser and htmx both report the 400 on the console; that is the answer expected here.
    page_problems.console_errors[:] = [
        error for error in page_problems.console_errors if "400" not in error
    ]
