"""Export requests: what is accepted, and how each problem is reported (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from annotation.schemas.export_request import (
    ExportFilters,
    ExportOptions,
    ExportRequestInvalid,
    Split,
    parse_export_request,
)

QUEUES = {1, 2}


def parse(**data: Any) -> Any:
    return parse_export_request({"project": "p", **data}, queue_ids=QUEUES)


def problems(**data: Any) -> tuple[str, list[tuple[str, str]]]:
    with pytest.raises(ExportRequestInvalid) as refused:
        parse(**data)
    return refused.value.code, [(e["field"], e["message"]) for e in refused.value.errors]


def test_it_parses_a_full_request() -> None:
    spec = parse(
        kind="sft",
        format="parquet",
        filters={
            "queues": [2],
            "since": "2026-11-01T00:00:00Z",
            "until": "2026-11-02T00:00:00",
            "model_version": "2026-10-01",
            "verdicts": ["good"],
            "adjudicated_only": True,
            "min_agreement": 0.6,
            "min_guideline_version": 3,
        },
        redact_pii=True,
        split={"validation": 0.1, "seed": 7},
        system_prompt="Be brief.",
    )

    assert spec.kind == "sft"
    assert spec.format == "parquet"
    assert spec.filters == ExportFilters(
        queues=(2,),
        since=datetime(2026, 11, 1, tzinfo=UTC),
        until=datetime(2026, 11, 2, tzinfo=UTC),
        model_version=("2026-10-01",),
        verdicts=("good",),
        adjudicated_only=True,
        min_agreement=0.6,
        min_guideline_version=3,
    )
    assert spec.options == ExportOptions(
        redact_pii=True, split=Split(0.1, 7), system_prompt="Be brief."
    )
    assert ExportFilters.from_json(spec.filters.to_json()) == spec.filters
    assert ExportOptions.from_json(spec.options.to_json()) == spec.options
    assert spec.filters.to_json()["until"] == "2026-11-02T00:00:00Z"


def test_defaults_are_jsonl_deduplicated_one_file() -> None:
    spec = parse(kind="eval")

    assert (spec.format, spec.options.dedupe, spec.options.parts) == ("jsonl", True, ("all",))
    assert spec.filters == ExportFilters()


def test_annotation_exports_never_deduplicate() -> None:
    assert parse(kind="annotations").options.dedupe is False
    assert problems(kind="annotations", dedupe=True)[1] == [
        ("dedupe", "annotation exports keep every annotation; leave dedupe out")
    ]


def test_an_unknown_kind_is_named() -> None:
    code, errors = problems(kind="dpo")

    assert code == "unknown_kind"
    assert errors == [
        (
            "kind",
            "'dpo' is not an export kind; use one of sft, preference, openai_dpo, eval, retrieval, "
            "annotations",
        )
    ]


def test_an_unknown_format_is_named() -> None:
    code, errors = problems(kind="sft", format="xlsx")

    assert code == "unknown_format"
    assert errors == [("format", "'xlsx' is not an export format; use one of jsonl, csv, parquet")]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"filters": {"queue": [1]}}, "filters.queue", "unknown filter"),
        ({"filters": {"queues": [3]}}, "filters.queues", "3 not queues of this project"),
        ({"filters": {"queues": "1"}}, "filters.queues", "non-empty list of queue ids"),
        ({"filters": {"since": "yesterday"}}, "filters.since", "not a date and time"),
        (
            {"filters": {"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}},
            "filters.until",
            "later than since",
        ),
        ({"filters": {"min_agreement": 1.5}}, "filters.min_agreement", "from 0 to 1"),
        ({"filters": {"min_agreement": True}}, "filters.min_agreement", "from 0 to 1"),
        ({"filters": {"min_guideline_version": 0}}, "filters.min_guideline_version", "≥ 1"),
        ({"filters": {"verdicts": []}}, "filters.verdicts", "non-empty string or a list"),
        ({"filters": {"adjudicated_only": "yes"}}, "filters.adjudicated_only", "true or false"),
        ({"filters": []}, "filters", "give an object"),
        ({"split": {"validation": 1}}, "split.validation", "between 0 and 1"),
        ({"split": {"validation": 0.1, "seed": -1}}, "split.seed", "whole number"),
        ({"split": {"train": 0.9}}, "split", "give an object like"),
        ({"redact_pii": True, "exclude_pii": True}, "exclude_pii", "choose one"),
        ({"redact_pii": "yes"}, "redact_pii", "true or false"),
        ({"partial_relevance": "relevant"}, "partial_relevance", "retrieval exports only"),
        ({"colour": "red"}, "colour", "unknown key"),
    ],
)
def test_each_problem_names_its_place(data: dict[str, Any], field: str, message: str) -> None:
    code, errors = problems(kind="sft", **data)

    assert code == "invalid_export"
    assert [f for f, _ in errors] == [field]
    assert message in errors[0][1]


def test_system_prompts_apply_to_prompt_kinds_only() -> None:
    assert problems(kind="retrieval", system_prompt="x")[1] == [
        ("system_prompt", "applies to sft, preference, openai_dpo, eval exports only")
    ]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ExportRequestInvalid) as refused:
        parse(kind="nope", format="nope", filters={"min_agreement": 2})

    assert refused.value.code == "unknown_kind"
    assert [e["field"] for e in refused.value.errors] == ["kind", "format", "filters.min_agreement"]
    assert refused.value.message.endswith("(and 2 more problems, see details)")
