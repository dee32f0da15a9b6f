"""Redeliver on the webhooks page: htmx swaps the delivery's row for the new attempt's result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Project, WebhookDelivery
from annotation.services.webhooks import webhook_create
from tests.actions.receiver import Receiver, serve
from tests.browser.conftest import login
from tests.conftest import Persona

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


def test_redeliver_swaps_the_row_in_place(
    page: Page, live_url: str, lead: Persona, project: Project, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    webhook, _ = webhook_create(
        project=project, created_by=None, data={"name": "ci", "url": receiver.url}
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event="alert.fired",
        payload={"alert": {"rule": "spike"}},
        status="failed",
        attempts=6,
        last_status_code=503,
        error="The receiver answered 503. Gave up after 6 attempts.",
    )
    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}/lead/projects/{project.name}/webhooks")
    row = page.locator(f"#delivery-{delivery.pk}")
    expect(row).to_contain_text("Gave up after 6 attempts")

    row.get_by_role("button", name="Redeliver").click()

    expect(row).to_contain_text("delivered")
    expect(row).to_contain_text("200")
    expect(row).not_to_contain_text("Gave up")
    assert page.url.endswith(f"/lead/projects/{project.name}/webhooks")  # no page load
    [got] = receiver.received
    assert got.headers["X-Feedbackloop-Delivery"] == str(delivery.delivery_id)
