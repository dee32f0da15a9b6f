"""A session that expires while someone is typing: their input survives the trip through the
login page, by a plain form post and by an htmx request, in a real browser."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect

from annotation.models.review import Guideline
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona

pytestmark = pytest.mark.browser

PAGE = "/lead/projects/support-bot/guidelines"
TEXT = "# Rules\n\nA long guideline, typed for twenty minutes, that must not be lost."


def expire_every_session() -> None:
    Session.objects.all().delete()


def log_in_again(page: Page) -> None:
    expect(page.locator("#form-kept")).to_be_visible()
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill("pw-0123456789")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_a_form_posted_after_the_session_expired_comes_back_after_login(
    page: Page, live_url: str, lead: Persona, transactional_db: Any
) -> None:
    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}{PAGE}")
    editor = page.locator("#guideline-text")
    editor.fill(TEXT)
    expect(page.locator("#guideline-preview .rendered")).to_be_visible()

    expire_every_session()
    page.get_by_role("button", name="Publish version 1").click()
    page.wait_for_url(f"{live_url}/accounts/login/**")
    log_in_again(page)

    page.wait_for_url(f"{live_url}{PAGE}")
    expect(page.locator("#form-restored")).to_be_visible()
    expect(page.locator("#guideline-text")).to_have_value(TEXT)
    assert not Guideline.objects.exists()
    screenshot(page, "session-expired-form-restored")

    page.get_by_role("button", name="Publish version 1").click()
    page.wait_for_url(f"{live_url}{PAGE}/1")
    assert Guideline.objects.get().text.replace("\r\n", "\n") == TEXT


def test_an_htmx_request_after_the_session_expired_takes_the_whole_page_to_login(
    page: Page, live_url: str, lead: Persona, transactional_db: Any
) -> None:
    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}{PAGE}")
    expire_every_session()

    # Typing asks for a live preview (an htmx POST): the session is gone, so the window goes to
    # the login page rather than showing it inside the preview box.
    page.locator("#guideline-text").fill(TEXT)
    page.wait_for_url(f"{live_url}/accounts/login/**")
    log_in_again(page)

    page.wait_for_url(f"{live_url}{PAGE}")
    expect(page.locator("#guideline-text")).to_have_value(TEXT)
    expect(page.locator("#form-restored")).to_be_visible()
