"""The lead and export tools in a real browser: every page loads without a CSP violation or a
console error, the check form shows its type's fields only, and the export preview swaps in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Check, Project
from tests.browser.conftest import login
from tests.conftest import Persona
from tests.exports.conftest import Reviews

pytestmark = pytest.mark.browser


def test_the_lead_tools_pages_load_clean(
    page: Page, live_url: str, lead: Persona, annotator: Persona, project: Project
) -> None:
    reviews = Reviews(project, name="weekly")
    for n in range(4):
        reviews.item(f"question {n}", annotations=[{"verdict": "good"}])
    login(page, live_url, "lead", "pw-0123456789")

    page.goto(f"{live_url}/lead/projects/{project.name}/members")
    expect(page.locator('[data-member="annotator"]')).to_be_visible()
    page.goto(f"{live_url}/lead/projects/{project.name}/checks")
    expect(page.locator('[data-check="pii"]')).to_be_visible()
    page.get_by_role("button", name="Disable").first.click()
    expect(page.locator("[data-enabled=false]")).to_have_count(1)

    check = Check.objects.get(project=project, name="blocklist")
    page.goto(f"{live_url}/lead/projects/{project.name}/checks/{check.pk}")
    expect(page.locator('[data-check-section="blocklist"]')).to_be_visible()
    expect(page.locator('[data-check-section="llm_judge"]')).to_be_hidden()
    page.get_by_label("Type", exact=True).select_option("llm_judge")
    expect(page.locator('[data-check-section="llm_judge"]')).to_be_visible()
    expect(page.locator('[data-check-section="blocklist"]')).to_be_hidden()

    page.goto(f"{live_url}/lead/queues/{reviews.queue.pk}/items?state=done")
    expect(page.locator("[data-item]")).to_have_count(4)
    page.goto(f"{live_url}/lead/queues/{reviews.queue.pk}/progress")
    expect(page.locator('[data-quality="ann1"]')).to_be_visible()

    page.goto(f"{live_url}/exports/")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-preview-rows]")).to_contain_text("4 rows from 4 matching items")
    expect(page.locator("[data-sample]")).to_have_count(3)
