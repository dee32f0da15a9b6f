"""A lead filters the explorer, opens an interaction and sends two rows to a queue, in a real
browser (htmx swaps, no console errors, CSP-clean)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Project, QueueItem
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona
from tests.factories import (
    REVIEW_SCHEMA,
    CheckFactory,
    FlagFactory,
    InteractionFactory,
    QueueFactory,
)

pytestmark = pytest.mark.browser

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_a_lead_filters_opens_one_and_sends_two_to_a_queue(
    page: Page, live_url: str, lead: Persona, project: Project
) -> None:
    for i in range(6):
        InteractionFactory(
            project=project,
            request_id=f"req-{i}",
            timestamp=T0 + timedelta(minutes=i),
            model_version="1.5.0-rc1" if i < 4 else "1.4.0",
            response=f"Reset it in Settings <b>{i}</b>, then call 555-010{i}.",
        )
    check = CheckFactory(project=project, name="phone-number")
    flagged = project.interactions.get(request_id="req-3")
    FlagFactory(
        check_config=check,
        interaction=flagged,
        spans=[{"start": 41, "end": 49, "kind": "phone"}],
    )
    queue = QueueFactory(project=project, name="Hand picked", schema=REVIEW_SCHEMA)

    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}/insights/{project.name}/interactions")
    expect(page.locator(".explorer-rows tbody tr")).to_have_count(6)

    page.get_by_label("Model version").fill("1.5.0-rc1")
    page.get_by_role("button", name="Show interactions").click()
    expect(page.locator(".explorer-rows tbody tr")).to_have_count(4)
    assert "model_version=1.5.0-rc1" in page.url
    expect(page.locator(".explorer-rows")).not_to_contain_text("req-5")

    page.get_by_role("link", name="req-3").click()
    expect(page.locator("#interaction-h")).to_contain_text("req-3")
    expect(page.locator(".response mark.span-phone")).to_have_text("555-0103")
    expect(page.locator(".response")).to_contain_text("<b>3</b>")
    expect(page.locator("#flags-h + table")).to_contain_text("phone-number")
    screenshot(page, "explorer-interaction")

    page.get_by_role("link", name="Interactions of support-bot").click()
    expect(page.locator(".explorer-rows tbody tr")).to_have_count(4)
    page.get_by_label("Select req-3").check()
    page.get_by_label("Select req-1").check()
    page.get_by_label("Send to queue").select_option(label="Hand picked")
    page.get_by_role("button", name="Send", exact=True).click()

    expect(page.locator("#send-result")).to_have_text("Added 2 to Hand picked.")
    screenshot(page, "explorer-sent")
    items = QueueItem.objects.filter(queue=queue)
    assert sorted(items.values_list("interaction__request_id", flat=True)) == ["req-1", "req-3"]
    assert all(item.reasons == ["manual"] for item in items)
