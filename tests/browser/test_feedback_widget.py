"""The feedback widget embedded in a page of another origin, used by keyboard in Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Feedback, FeedbackKind
from annotation.services.projects import project_create
from annotation.services.widget import widget_key_create
from tests.browser.conftest import screenshot
from tests.factories import InteractionFactory

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Support chat</title>
<link rel="stylesheet" href="{live}/static/css/feedback-widget.css"></head>
<body>
<main>
  <div id="answer">Open Billing, then Invoices, and pick the month.</div>
  <div data-feedbackloop data-request-id="req-widget" data-key="{key}" data-response="#answer"
       data-user-id="u-42"></div>
</main>
<script src="{live}/static/js/feedback-widget.js"></script>
</body></html>
"""


class _App:
    """An application's own web server on another local origin, serving one page."""

    def __init__(self) -> None:
        self.html = b""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(app.html)))
                self.end_headers()
                self.wfile.write(app.html)

        return Handler


@pytest.fixture
def app() -> Iterator[_App]:
    app = _App()
    thread = threading.Thread(target=app.server.serve_forever, daemon=True)
    thread.start()
    yield app
    app.server.shutdown()
    app.server.server_close()


def test_feedback_from_an_embedded_widget_arrives_linked_to_its_interaction(
    page: Page, live_url: str, app: _App
) -> None:
    project = project_create(name="widget-bot").obj.project
    interaction = InteractionFactory(project=project, request_id="req-widget")
    key = widget_key_create(project=project, origins=[app.origin]).secret
    app.html = HOST_PAGE.format(live=live_url, key=key).encode()

    page.goto(app.origin)
    thumbs_down = page.get_by_role("button", name="No, not helpful")
    expect(thumbs_down).to_be_visible()
    thumbs_down.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Thanks. Tell us more if you can.")
    expect(thumbs_down).to_have_attribute("aria-pressed", "true")
    # Keyboard only: the first reason has focus; Space ticks it, Tab moves on.
    expect(page.get_by_label("Incorrect")).to_be_focused()
    page.keyboard.press("Space")
    page.get_by_label("A better answer (optional)").focus()
    page.keyboard.type("Open Billing, then Invoices; pick the month and press Download.")
    page.get_by_label("Anything else? (optional)").focus()
    page.keyboard.type("<b>It skipped the download step</b>")
    page.get_by_role("button", name="Send feedback").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Thanks, your feedback was sent.")
    expect(page.get_by_role("button", name="Send feedback")).to_be_hidden()
    page.dispatch_event("#answer", "copy")
    screenshot(page, "feedback-widget")

    def stored() -> dict[str, Feedback]:
        return {f.kind: f for f in Feedback.objects.filter(interaction=interaction)}

    for _ in range(50):  # the copy event is sent in the background
        if FeedbackKind.IMPLICIT in stored():
            break
        page.wait_for_timeout(100)
    rows = stored()
    assert set(rows) == {"rating", "label", "correction", "comment", "implicit"}
    assert rows["rating"].normalized_score == 0.0
    assert rows["label"].labels == ["incorrect"]
    assert rows["correction"].text.endswith("press Download.")
    assert rows["comment"].text == "<b>It skipped the download step</b>"
    assert rows["implicit"].event == "copy"
    assert all(f.source == "user" and f.user_id and f.user_id != "u-42" for f in rows.values())
    # The comment is text on the page, never markup.
    assert page.locator("b").count() == 0
