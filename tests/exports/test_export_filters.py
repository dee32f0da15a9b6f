"""Which reviewed items an export reads: every filter, and filters that match nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from annotation.models import JobStatus, Project
from tests.conftest import Persona
from tests.exports.conftest import START, Reviews, build, rows

GOOD = {"verdict": "good"}


def questions(export: Any) -> list[str]:
    return [row["messages"][-2]["content"] for row in rows(export)]


@pytest.fixture
def mixed(project: Project) -> Reviews:
    """Items that differ in every filtered property; each question names what it is."""
    reviews = Reviews(project, name="weekly")
    reviews.item("plain", annotations=[GOOD])
    reviews.item("early", annotations=[GOOD], timestamp=START - timedelta(days=30))
    reviews.item("other model", annotations=[GOOD], model="gpt-y", model_version="2026-11-15")
    reviews.item("other template", annotations=[GOOD], prompt_template="billing")
    reviews.item(
        "bad corrected",
        annotations=[{"verdict": "bad", "reasons": ["incorrect"], "correction": "fixed"}],
    )
    reviews.item("sampled randomly", annotations=[GOOD], reasons=["random"])
    reviews.item(
        "adjudicated",
        annotations=[{"verdict": "good"}, {"verdict": "bad", "correction": "lead fixed"}],
        adjudication={"verdict": "bad"},
    )
    reviews.item("agreed by two", annotations=[GOOD, GOOD])
    reviews.item(
        "two of three agree",
        annotations=[GOOD, GOOD, {"verdict": "bad", "correction": "x"}],
    )
    reviews.item("old guideline", annotations=[GOOD], guideline=1)
    reviews.item("not done", annotations=[GOOD], state="needs_adjudication")
    return reviews


EVERYTHING = [
    "plain",
    "early",
    "other model",
    "other template",
    "bad corrected",
    "sampled randomly",
    "adjudicated",
    "agreed by two",
    "two of three agree",
    "old guideline",
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, EVERYTHING),
        ({"since": "2026-11-01T00:00:00Z"}, [q for q in EVERYTHING if q != "early"]),
        ({"until": "2026-11-01T00:00:00Z"}, ["early"]),
        ({"model": ["gpt-y"]}, ["other model"]),
        ({"model_version": "2026-11-15"}, ["other model"]),
        ({"prompt_template": ["billing"]}, ["other template"]),
        ({"verdicts": ["bad"]}, ["bad corrected", "adjudicated"]),
        ({"reasons": ["incorrect"]}, ["bad corrected"]),
        ({"sampled_by": ["random"]}, ["sampled randomly"]),
        ({"adjudicated_only": True}, ["adjudicated"]),
        ({"agreed_only": True}, ["agreed by two"]),
        ({"agreed_only": True, "adjudicated_only": True}, ["adjudicated", "agreed by two"]),
        ({"min_agreement": 0.3}, ["agreed by two", "two of three agree"]),
        ({"min_agreement": 0.5}, ["agreed by two"]),
        ({"min_guideline_version": 2}, [q for q in EVERYTHING if q != "old guideline"]),
    ],
)
def test_each_filter_keeps_only_the_items_it_describes(
    mixed: Reviews,
    project: Project,
    engineer: Persona,
    filters: dict[str, Any],
    expected: list[str],
) -> None:
    export = build(project, engineer, kind="sft", filters=filters, dedupe=False)

    assert export.status == JobStatus.DONE
    assert questions(export) == expected
    assert export.manifest["filters"] == export.filters


def test_queues_filter_reads_only_the_named_queues(project: Project, engineer: Persona) -> None:
    first = Reviews(project, name="first")
    second = Reviews(project, name="second")
    first.item("from first", annotations=[GOOD])
    second.item("from second", annotations=[GOOD])

    only_second = build(project, engineer, kind="sft", filters={"queues": [second.queue.pk]})
    both = build(project, engineer, kind="sft")

    assert questions(only_second) == ["from second"]
    assert questions(both) == ["from first", "from second"]


def test_other_projects_items_never_appear(
    project: Project, other_keyed_project: Any, engineer: Persona
) -> None:
    Reviews(other_keyed_project.project, name="theirs").item("theirs", annotations=[GOOD])
    Reviews(project, name="ours").item("ours", annotations=[GOOD])

    assert questions(build(project, engineer, kind="sft")) == ["ours"]


def test_old_guideline_annotations_do_not_count_under_min_guideline_version(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    # v1 said bad and corrected; only the v3 annotation (good) counts.
    reviews.item(
        "mixed versions",
        annotations=[{"verdict": "bad", "correction": "old"}, {"verdict": "good"}],
        guideline=[1, 3],
    )

    export = build(project, engineer, kind="annotations", filters={"min_guideline_version": 3})
    sft = build(project, engineer, kind="sft", filters={"min_guideline_version": 3})

    assert [r["guideline_version"] for r in rows(export)] == [3]
    assert export.manifest["guideline_versions"] == [3]
    assert [r["messages"][-1]["content"] for r in rows(sft)] == ["Open Settings, then Security."]


def test_filters_that_match_nothing_give_an_empty_export_whose_manifest_says_so(
    mixed: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(project, engineer, kind="sft", filters={"model": ["no-such-model"]})

    assert export.status == JobStatus.DONE
    assert export.rows == 0
    manifest = export.manifest
    assert manifest["empty"] is True
    assert manifest["counts"]["rows"] == 0
    assert "No reviewed data matched these filters" in manifest["message"]
    assert [(f["name"], f["rows"], f["bytes"]) for f in manifest["files"]] == [("all.jsonl", 0, 0)]
    assert rows(export) == []


def test_an_export_whose_rows_are_all_excluded_says_why(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("rejected", annotations=[{"verdict": "bad"}])

    export = build(project, engineer, kind="sft")

    assert export.manifest["empty"] is True
    assert "rejected_without_correction: 1" in export.manifest["message"]


def test_a_project_without_queues_exports_nothing(project: Project, engineer: Persona) -> None:
    export = build(project, engineer, kind="annotations", format="parquet")

    assert export.status == JobStatus.DONE
    assert export.manifest["empty"] is True
    assert rows(export) == []


def test_items_of_a_queue_whose_schema_has_no_verdict_need_a_correction(
    project: Project, engineer: Persona
) -> None:
    schema = {"fields": [{"name": "correction", "type": "correction"}]}
    reviews = Reviews(project, schema=schema, name="corrections")
    reviews.item("corrected", annotations=[{"correction": "fixed"}])
    reviews.item("untouched", annotations=[{}])

    export = build(project, engineer, kind="sft")

    assert questions(export) == ["corrected"]
    assert export.manifest["counts"]["excluded"] == {"no_verdict": 1}
