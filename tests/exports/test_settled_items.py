"""Exports stand on settled items: ties left out and counted, manifest counts after filters."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Project
from annotation.schemas.export_request import ExportRequestInvalid, parse_export_request
from tests.conftest import Persona
from tests.exports.conftest import Reviews, build, rows


def test_an_unsettled_tie_gives_no_row_and_is_counted(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("tied", annotations=[{"verdict": "good"}, {"verdict": "bad"}])
    reviews.item("agreed", annotations=[{"verdict": "good"}, {"verdict": "good"}])
    reviews.item(
        "decided",
        annotations=[{"verdict": "good"}, {"verdict": "bad"}],
        adjudication={"verdict": "good"},
    )

    export = build(project, engineer, kind="sft")

    assert export.status == "done"
    questions = [row["messages"][-2]["content"] for row in rows(export)]
    assert questions == ["agreed", "decided"]
    assert export.manifest["counts"]["excluded"] == {"unsettled_tie": 1}
    assert export.manifest["counts"]["items"] == 3


def test_the_manifest_counts_the_items_left_after_every_filter(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("good and agreed", annotations=[{"verdict": "good"}, {"verdict": "good"}])
    reviews.item("bad", annotations=[{"verdict": "bad"}, {"verdict": "bad"}])
    reviews.item(
        "good, split",
        annotations=[{"verdict": "good"}, {"verdict": "good"}, {"verdict": "bad"}],
    )

    by_verdict = build(project, engineer, kind="eval", filters={"verdicts": ["good"]})
    by_agreement = build(project, engineer, kind="eval", filters={"min_agreement": 0.9})

    assert by_verdict.manifest["counts"]["items"] == 2
    assert by_agreement.manifest["counts"]["items"] == 2
    assert by_agreement.rows == 2


def test_redaction_counts_every_replacement_by_kind(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item(
        "Write to ann@example.com or bob@example.org, or call +44 20 7946 0958.",
        response="Sure.",
    )

    export = build(project, engineer, kind="sft", redact_pii=True)

    assert export.manifest["counts"]["redacted"] == {"email": 2, "phone": 1}


@pytest.mark.parametrize(
    ("request_data", "field"),
    [
        ({"filters": {"min_agreement": int("9" * 400)}}, "filters.min_agreement"),
        ({"filters": {"min_agreement": float("nan")}}, "filters.min_agreement"),
        ({"filters": {"min_agreement": float("inf")}}, "filters.min_agreement"),
        ({"filters": {"min_guideline_version": 10**400}}, "filters.min_guideline_version"),
        ({"split": {"validation": 10**400}}, "split.validation"),
        ({"filters": {"model": ["gpt\x00x"]}}, "filters.model"),
        ({"filters": {"since": "2026-11-01\x00"}}, "filters.since"),
        ({"system_prompt": "Be kind.\x00"}, "system_prompt"),
        ({"system_prompt": "Be kind.\ud800"}, "system_prompt"),
        ({"project": "support\x00bot"}, "project"),
    ],
)
def test_it_refuses_numbers_and_text_it_cannot_use_naming_the_field(
    request_data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ExportRequestInvalid) as refused:
        parse_export_request({"kind": "sft", **request_data}, queue_ids=[1])

    assert [error["field"] for error in refused.value.errors] == [field]


def test_a_huge_min_agreement_is_a_400_over_the_api(
    project: Project, engineer: Persona, reviews: Reviews
) -> None:
    body = (
        '{"project": "support-bot", "kind": "sft", "filters": {"min_agreement": ' + "9" * 400 + "}}"
    )

    response = engineer.client().post("/api/v1/exports", body, content_type="application/json")

    assert response.status_code == 400
    errors = response.json()["error"]["details"]["errors"]
    assert [error["field"] for error in errors] == ["filters.min_agreement"]
