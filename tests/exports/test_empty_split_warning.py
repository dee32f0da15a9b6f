"""A split whose part holds no row says so: in the manifest, on the export's page, in the preview."""

from __future__ import annotations

import pytest

from annotation.exports.manifest import empty_part_warnings
from annotation.models import Project
from tests.conftest import Persona
from tests.exports.conftest import Reviews, browser, build


def test_no_warning_without_a_split_or_when_every_part_has_rows() -> None:
    assert empty_part_warnings({"all": 0}, split=None) == []
    assert empty_part_warnings({"train": 9, "validation": 1}, split={"validation": 0.1}) == []
    # Nothing at all is the export's "empty" message, not a split problem.
    assert empty_part_warnings({"train": 0, "validation": 0}, split={"validation": 0.1}) == []


def test_an_empty_part_is_named_with_what_to_do() -> None:
    (warning,) = empty_part_warnings({"train": 3, "validation": 0}, split={"validation": 0.01})

    assert warning.startswith("The validation part is empty: all 3 rows went to train.")
    assert "Raise the validation share (now 0.01)" in warning


@pytest.fixture
def one_prompt(reviews: Reviews) -> Reviews:
    # Every copy of a prompt lands in one part: one prompt cannot fill two parts.
    for _ in range(3):
        reviews.item("the only question", annotations=[{"verdict": "good"}])
    return reviews


def test_the_manifest_and_the_page_of_a_built_export_warn(
    one_prompt: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(
        project, engineer, kind="sft", dedupe=False, split={"validation": 0.5, "seed": 1}
    )

    rows_by_part = {f["part"]: f["rows"] for f in export.manifest["files"]}
    assert sorted(rows_by_part.values()) == [0, 3]
    empty = next(part for part, n in rows_by_part.items() if n == 0)
    (warning,) = export.manifest["warnings"]
    assert warning.startswith(f"The {empty} part is empty")
    page = browser(engineer).get(f"/exports/{export.pk}").content.decode()
    assert f"The {empty} part is empty" in page and "data-warning" in page


def test_a_split_with_rows_in_both_parts_has_no_warning(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    for n in range(40):
        reviews.item(f"question {n}", annotations=[{"verdict": "good"}])

    export = build(project, engineer, kind="sft", split={"validation": 0.5, "seed": 1})

    assert all(f["rows"] for f in export.manifest["files"])
    assert export.manifest["warnings"] == []
    assert "data-warning" not in browser(engineer).get(f"/exports/{export.pk}").content.decode()


def test_the_preview_warns_before_building(
    one_prompt: Reviews, project: Project, engineer: Persona
) -> None:
    response = browser(engineer).post(
        "/exports/preview",
        {
            "project": project.name,
            "kind": "sft",
            "format": "jsonl",
            "pii": "keep",
            "validation": "0.5",
            "seed": "1",
        },
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "part is empty" in page and "data-warning" in page
