"""Browser tests: the system Chromium driven by Playwright against pytest-django's live server.

Every browser test lives in this package and is marked `browser`. The `page` fixture fails the
test when the page raised a Content-Security-Policy violation, opened a dialog (every XSS payload
in tests/xss_payloads.py calls alert), threw an uncaught error, logged any other error to the
console (htmx reports its own failures there) or requested another origin.

Playwright's sync API keeps an asyncio event loop running in the main thread while it is started,
so Django's guard against calling the ORM from async code would refuse every query the test makes
(fixtures creating people, for instance). The browser therefore lives for this package only, and
DJANGO_ALLOW_ASYNC_UNSAFE is set just while it runs: the rest of the suite keeps both the guard
and a main thread without an event loop.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Request,
    expect,
    sync_playwright,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
_LOCAL_ORIGINS = {"localhost", "127.0.0.1"}


@dataclass
class PageProblems:
    """What went wrong in the page; a test expecting CSP violations sets `expect_csp_violations`.

    Such a test serves a page built to misbehave, so the console errors that come with refusing
    it (htmx's invalidPath and evalDisallowedError, a blocked resource's 404) are expected too.
    """

    csp_violations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    expect_csp_violations: bool = False

    def failures(self) -> list[str]:
        failures = [f"dialog opened: {text}" for text in self.dialogs]
        failures += [f"uncaught error: {text}" for text in self.page_errors]
        failures += [f"request to another origin: {url}" for url in self.external_requests]
        if not self.expect_csp_violations:
            failures += [f"CSP violation: {text}" for text in self.csp_violations]
            failures += [f"console error: {text}" for text in self.console_errors]
        return failures


_PROBLEMS = pytest.StashKey[PageProblems]()
_PAGE = pytest.StashKey[Page]()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: install it (apt-get install chromium) "
            "or set CHROMIUM_PATH to a Chromium or Chrome binary."
        )
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(
    browser: Browser, page_problems: PageProblems, request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if "Content Security Policy" in message.text:
            page_problems.csp_violations.append(message.text)
        else:
            page_problems.console_errors.append(f"{message.text} ({message.location})")

    def on_dialog(dialog: Dialog) -> None:
        page_problems.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_request(sent: Request) -> None:
        url = urlsplit(sent.url)
        if url.scheme in {"http", "https", "ws", "wss"} and url.hostname not in _LOCAL_ORIGINS:
            page_problems.external_requests.append(sent.url)

    page.on("console", on_console)
    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: page_problems.page_errors.append(str(error)))
    context.on("request", on_request)
    request.node.stash[_PROBLEMS] = page_problems
    request.node.stash[_PAGE] = page
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test whose page misbehaved, as a failure of the test itself rather than teardown."""
    result = yield
    problems = item.stash.get(_PROBLEMS, None)
    if problems is not None:
        page = item.stash[_PAGE]
        if not page.is_closed():
            # A round trip to the page delivers any console or dialog event still in flight.
            with contextlib.suppress(Error):
                page.evaluate("0")
        failures = problems.failures()
        if failures:
            raise AssertionError("The page misbehaved:\n" + "\n".join(failures))
    return result


@pytest.fixture
def live_url(live_server: Any) -> str:
    """The live server's base URL, without a trailing slash; the test uses the transactional DB."""
    return str(live_server.url).rstrip("/")


def login(page: Page, live_url: str, username: str, password: str) -> None:
    """Log in through the login form, as a person would; fails naming the user if it did not work."""
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    if urlsplit(page.url).path.startswith("/accounts/login/"):
        raise AssertionError(f"Logging in as {username!r} failed: still on {page.url}")
    expect(page.locator(".who")).to_have_text(username)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot to artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    # caret="initial": hiding the caret would inject a <style>, which the CSP rightly refuses.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path
