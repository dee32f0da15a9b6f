"""The export preview: row count, rows per part and three sample rows, before building."""

from __future__ import annotations

import pytest

from annotation.models import Export, Project
from annotation.schemas.export_request import ExportRequestInvalid
from annotation.services.export_preview import export_preview
from tests.conftest import Persona
from tests.exports.conftest import Reviews, browser, build, rows

HTMX = {"HTTP_HX_REQUEST": "true"}
FORM = {"project": "support-bot", "kind": "sft", "format": "jsonl", "pii": "keep", "dedupe": "on"}


@pytest.fixture
def reviewed(reviews: Reviews) -> Reviews:
    for n in range(5):
        reviews.item(f"question {n}", annotations=[{"verdict": "good"}])
    reviews.item("rejected", annotations=[{"verdict": "bad"}])
    reviews.item("question 0", annotations=[{"verdict": "good"}])  # a duplicate prompt
    return reviews


def test_it_counts_what_the_build_writes_and_keeps_its_first_three_rows(
    reviewed: Reviews, project: Project, engineer: Persona
) -> None:
    request = {"project": project.name, "kind": "sft", "split": {"validation": 0.4, "seed": 2}}

    preview = export_preview(project=project, data=request)
    export = build(project, engineer, **{k: v for k, v in request.items() if k != "project"})

    assert preview.complete
    assert preview.rows == export.rows == 5
    assert preview.items == export.manifest["counts"]["items"] == 7
    assert preview.excluded == export.manifest["counts"]["excluded"]
    assert preview.by_part == {f["part"]: f["rows"] for f in export.manifest["files"]}
    built = [row for part in ("train", "validation") for row in rows(export, part)]
    assert len(preview.samples) == 3
    assert all(sample in built for sample in preview.samples)
    assert not Export.objects.exclude(pk=export.pk).exists()  # the preview built nothing


def test_it_stops_early_and_estimates_past_its_limit(reviewed: Reviews, project: Project) -> None:
    preview = export_preview(project=project, data={"kind": "sft"}, max_items=2)

    assert not preview.complete
    assert (preview.items_read, preview.items_total) == (2, 7)
    assert preview.rows == 2
    assert preview.estimated_rows == 7  # 2 rows from 2 of 7 items


def test_it_refuses_what_the_build_refuses(reviewed: Reviews, project: Project) -> None:
    with pytest.raises(ExportRequestInvalid) as refused:
        export_preview(project=project, data={"kind": "sft", "filters": {"min_agreement": 3}})

    assert refused.value.errors[0]["field"] == "filters.min_agreement"


def test_the_page_shows_the_count_and_three_samples(reviewed: Reviews, engineer: Persona) -> None:
    response = browser(engineer).post("/exports/preview", FORM, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and page.lstrip().startswith('<section id="export-preview"')
    assert "<strong>5</strong> rows from 7 matching items" in page
    assert page.count("data-sample") == 3
    assert "question 1" in page
    assert "Left out:" in page and "rejected_without_correction: 1" in page


def test_without_javascript_the_whole_page_comes_back_with_the_preview(
    reviewed: Reviews, engineer: Persona
) -> None:
    response = browser(engineer).post("/exports/preview", FORM)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page and 'name="kind"' in page and "<strong>5</strong> rows" in page
    assert 'value="support-bot" selected' in page  # the form as typed


def test_a_bad_form_is_explained_in_the_preview_box(reviewed: Reviews, engineer: Persona) -> None:
    response = browser(engineer).post("/exports/preview", {**FORM, "min_agreement": "7"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200  # htmx swaps it in
    assert "Fix the form first: min_agreement" in page


def test_sample_text_is_escaped(reviews: Reviews, engineer: Persona) -> None:
    reviews.item("<script>alert(1)</script>", annotations=[{"verdict": "good"}])

    page = browser(engineer).post("/exports/preview", FORM, **HTMX).content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("engineer", 200), ("lead", 200)])
def test_only_leads_and_engineers_preview(
    reviewed: Reviews, request: pytest.FixtureRequest, who: str, status: int
) -> None:
    persona: Persona = request.getfixturevalue(who)

    response = browser(persona).post("/exports/preview", FORM, **HTMX)

    assert response.status_code == status


def test_a_lead_of_another_project_cannot_preview_this_one(
    reviewed: Reviews, outsider: Persona
) -> None:
    response = browser(outsider).post("/exports/preview", FORM, **HTMX)

    page = response.content.decode()
    assert "Select a valid choice. support-bot is not one of the available choices." in page
    assert "question" not in page and "data-sample" not in page


def test_it_answers_only_post(engineer: Persona) -> None:
    assert browser(engineer).get("/exports/preview").status_code == 405


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    from django.test import Client

    response = Client().post("/exports/preview", FORM)

    assert response.status_code in (302, 303) and "login" in response["Location"]
