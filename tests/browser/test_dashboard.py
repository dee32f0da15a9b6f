"""A lead lands on the insights overview, clicks a chart point and a table row through to the
interactions behind them, and compares two model versions, in a real browser (uPlot drawn from
the vendored copy, htmx swaps, no console error, CSP-clean, no horizontal overflow on a phone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Project
from annotation.services.rollups import rollups_rebuild
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona
from tests.factories import FeedbackFactory, InteractionFactory

pytestmark = pytest.mark.browser

START = datetime(2026, 11, 20, 8, tzinfo=UTC)
WINDOW = "range=custom&since=2026-11-20T08:00:00Z&until=2026-11-20T11:00:00Z"
# (model_version, hour offset, rated, of which thumbs down)
TRAFFIC = [("1.4.0", 0, 6, 1), ("1.4.0", 1, 6, 1), ("1.5.0-rc1", 1, 8, 3), ("1.5.0-rc1", 2, 5, 3)]


def seed(project: Project) -> None:
    n = 0
    for version, hour, rated, down in TRAFFIC:
        for i in range(rated):
            interaction = InteractionFactory(
                project=project,
                request_id=f"r-{n}",
                model_version=version,
                timestamp=START + timedelta(hours=hour, minutes=i),
            )
            FeedbackFactory(
                interaction=interaction,
                normalized_score=0.0 if i < down else 1.0,
                value=0.0 if i < down else 1.0,
            )
            n += 1
    rollups_rebuild(project=project, since=START, until=START + timedelta(hours=3))


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_lead_clicks_from_a_chart_point_to_the_interactions_behind_it(
    page: Page, live_url: str, lead: Persona, project: Project
) -> None:
    seed(project)
    login(page, live_url, "lead", "pw-0123456789")
    assert urlsplit(page.url).path == "/insights/support-bot/"  # the lead's landing page

    page.goto(f"{live_url}/insights/support-bot/?{WINDOW}")
    over = page.locator("#chart-volume .u-over")
    expect(over).to_be_visible()
    box = over.bounding_box()
    assert box is not None
    # Three hourly points span the plot's width: the middle one is 09:00.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**/insights/support-bot/interactions?**")

    assert query(page.url) == {
        "since": ["2026-11-20T09:00:00Z"],
        "until": ["2026-11-20T10:00:00Z"],
    }
    expect(page.locator(".explorer-rows tbody tr")).to_have_count(14)


def test_a_lead_breaks_down_by_version_and_follows_a_table_row(
    page: Page, live_url: str, lead: Persona, project: Project
) -> None:
    seed(project)
    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}/insights/support-bot/?{WINDOW}")
    expect(page.locator("#chart-volume .u-over")).to_be_visible()

    page.get_by_label("Breakdown").select_option("model_version")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".dashboard-window")).to_contain_text("broken down by model version")
    assert "by=model_version" in page.url
    expect(page.locator("#chart-negative_feedback_rate .u-over")).to_be_visible()

    card = page.locator("section.chart-card", has=page.locator("#h-negative_feedback_rate"))
    card.locator("summary").click()
    starts_at_ten = page.locator("td:first-child", has_text="2026-11-20 10:00")
    row = card.locator("tbody tr", has_text="1.5.0-rc1").filter(has=starts_at_ten)
    row.get_by_role("link", name="interactions").click()
    page.wait_for_url("**/insights/support-bot/interactions?**")

    assert query(page.url) == {
        "since": ["2026-11-20T10:00:00Z"],
        "until": ["2026-11-20T11:00:00Z"],
        "model_version": ["1.5.0-rc1"],
        "negative": ["1"],
    }
    expect(page.locator(".explorer-rows tbody tr")).to_have_count(3)


def test_the_dashboards_fit_a_desktop_and_a_phone(
    page: Page, live_url: str, lead: Persona, project: Project
) -> None:
    seed(project)
    login(page, live_url, "lead", "pw-0123456789")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_url}/insights/support-bot/?{WINDOW}&by=model_version")
        expect(page.locator("#chart-reviewed_bad_rate .u-over")).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
        screenshot(page, f"insights-overview-{width}")

        page.goto(f"{live_url}/insights/support-bot/compare?{WINDOW}")
        page.locator("select[name=a]").select_option("1.4.0")
        page.locator("select[name=b]").select_option("1.5.0-rc1")
        page.get_by_role("button", name="Compare").click()
        expect(page.locator("#compare-metrics")).to_contain_text("Negative-feedback rate")
        assert "a=1.4.0" in page.url and "b=1.5.0-rc1" in page.url
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
        screenshot(page, f"insights-compare-{width}")
