"""The label schema builder in a real browser, by keyboard: add, rename, move and remove fields,
see the annotator's form and the problems by field, save the queue."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Project, Queue
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona
from tests.review.conftest import make_queue

pytestmark = pytest.mark.browser


def schema_text(page: Page) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(page.locator("#id_schema").input_value())
    return loaded


def names(page: Page) -> list[str]:
    return [f["name"] for f in schema_text(page)["fields"]]  # type: ignore[index,union-attr]


def test_a_lead_builds_the_label_schema_by_keyboard(
    page: Page, live_url: str, lead: Persona, annotator: Persona, project: Project
) -> None:
    queue: Queue = make_queue(project, [annotator], name="Builder")
    login(page, live_url, "lead", "pw-0123456789")
    page.goto(f"{live_url}/lead/queues/{queue.pk}/edit")

    builder = page.locator("[data-schema-builder]")
    preview = page.locator("#schema-preview")
    expect(builder).to_be_visible()
    expect(preview.locator('[data-field="verdict"]')).to_be_visible()
    start = names(page)

    # Add a scale: choose the type, then Enter on the button.
    page.locator("[data-builder-add-type]").select_option("likert")
    page.locator("[data-builder-add]").focus()
    page.keyboard.press("Enter")
    new_name = page.locator('[data-builder-field] [data-key="name"]').last
    expect(new_name).to_be_focused()
    assert names(page) == [*start, "likert"]
    expect(preview.locator('[data-field="likert"]')).to_be_visible()

    # Rename it by typing, and give it a label.
    new_name.fill("")
    page.keyboard.type("helpfulness")
    page.keyboard.press("Tab")  # type select
    page.keyboard.press("Tab")  # label
    page.keyboard.type("How helpful is it?")
    expect(preview.locator('[data-field="helpfulness"]')).to_contain_text("How helpful is it?")

    # A name the schema refuses is shown on its row and in the preview.
    new_name.fill("Bad Name")
    card = page.locator("[data-builder-field]").last
    expect(card.locator("[data-field-error]")).to_contain_text("is not a valid name")
    expect(card).to_have_class("builder-field has-error")
    new_name.fill("helpfulness")
    expect(card.locator("[data-field-error]")).to_be_hidden()

    # Move it up by keyboard: focus follows the field.
    card.locator('[data-move="-1"]').focus()
    page.keyboard.press("Enter")
    assert names(page)[-2] == "helpfulness"
    expect(
        page.locator(f'[data-builder-field="{len(start) - 1}"] [data-move="-1"]')
    ).to_be_focused()

    # Remove the comment field.
    page.locator("[data-builder-field]").filter(
        has=page.locator('[data-key="name"][value="comment"]')
    )
    comment_index = names(page).index("comment")
    page.locator(f'[data-builder-field="{comment_index}"] [data-remove]').focus()
    page.keyboard.press("Enter")
    assert "comment" not in names(page)
    expect(preview.locator('[data-field="comment"]')).to_have_count(0)
    screenshot(page, "schema-builder")

    # Edits to the JSON come back to the builder.
    schema = schema_text(page)
    schema["fields"][0]["options"] = ["good", "bad", "unsure"]  # type: ignore[index]
    page.locator("#id_schema").fill(json.dumps(schema, indent=2))
    expect(page.locator('[data-builder-field="0"] [data-key="options"]')).to_have_value(
        "good, bad, unsure"
    )
    expect(preview.locator('input[name="verdict"][value="unsure"]')).to_have_count(1)

    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("Saved.")
    queue.refresh_from_db()
    saved = [f["name"] for f in queue.schema["fields"]]
    assert "helpfulness" in saved and "comment" not in saved
    assert queue.schema["fields"][saved.index("helpfulness")]["label"] == "How helpful is it?"
    assert queue.schema["fields"][0]["options"] == ["good", "bad", "unsure"]
