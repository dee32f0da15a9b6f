from __future__ import annotations

from typing import Any

import pytest

from annotation.schemas.label_schema import (
    disagreements,
    parse_schema,
    schema_errors,
    values_errors,
)
from tests.factories import REVIEW_SCHEMA

TAXONOMY = ["incorrect", "unhelpful", "unsafe", "off_topic"]


def one(field: dict[str, Any]) -> dict[str, Any]:
    return {"fields": [field]}


def test_the_design_example_schema_is_valid() -> None:
    assert schema_errors(REVIEW_SCHEMA, taxonomy=TAXONOMY) == []


@pytest.mark.parametrize(
    "field",
    [
        {"name": "verdict", "type": "choice", "options": ["good", "bad"], "required": True},
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "reasons", "type": "multi_choice", "options": {"taxonomy": ["unsafe"]}},
        {"name": "rating", "type": "likert"},
        {"name": "rating", "type": "likert", "min": 0, "max": 10},
        {"name": "correction", "type": "correction", "max_length": 5000},
        {"name": "comment", "type": "text"},
        {"name": "docs", "type": "relevance"},
        {"name": "docs", "type": "relevance", "options": ["yes", "no"]},
        {"name": "preference", "type": "pairwise", "agreement": True},
    ],
)
def test_it_accepts_every_field_type(field: dict[str, Any]) -> None:
    assert schema_errors(one(field), taxonomy=TAXONOMY) == []


@pytest.mark.parametrize(
    ("schema", "place", "hint"),
    [
        ([], "schema", "object"),
        ({"fields": []}, "schema.fields", "non-empty"),
        ({"fields": [], "extra": 1}, "schema.extra", "unknown key"),
        (one({"name": "x", "type": "slider"}), "schema.fields[0].type", "choice, multi_choice"),
        (one({"name": "Bad Name", "type": "text"}), "schema.fields[0].name", "lowercase"),
        (one({"name": "x", "type": "choice"}), "schema.fields[0].options", "non-empty list"),
        (one({"name": "x", "type": "choice", "options": ["a", "a"]}), "options", "repeat"),
        (
            one({"name": "x", "type": "multi_choice", "options": {"taxonomy": ["made_up"]}}),
            "schema.fields[0].options.taxonomy",
            "'made_up' not in the project's taxonomy",
        ),
        (one({"name": "x", "type": "likert", "min": 5, "max": 1}), "schema.fields[0]", "min <"),
        (one({"name": "x", "type": "likert", "min": 1.5}), "schema.fields[0]", "whole numbers"),
        (one({"name": "x", "type": "text", "options": ["a"]}), "options", "takes no options"),
        (one({"name": "x", "type": "text", "min": 1}), "schema.fields[0]", "likert fields only"),
        (one({"name": "x", "type": "text", "required": "yes"}), "required", "true or false"),
        (one({"name": "x", "type": "text", "colour": "red"}), "colour", "unknown key"),
        (
            {"fields": [{"name": "x", "type": "text"}, {"name": "x", "type": "text"}]},
            "schema.fields[1].name",
            "used twice",
        ),
    ],
)
def test_it_names_what_is_wrong_with_a_schema(schema: Any, place: str, hint: str) -> None:
    errors = schema_errors(schema, taxonomy=TAXONOMY)

    assert any(place in error and hint in error for error in errors), errors


FIELDS = parse_schema(
    {
        "fields": [
            *REVIEW_SCHEMA["fields"],
            {"name": "docs", "type": "relevance", "required": True},
            {"name": "preference", "type": "pairwise"},
        ]
    }
)
GOOD: dict[str, Any] = {
    "verdict": "bad",
    "reasons": ["incorrect", "unsafe"],
    "rating": 2,
    "correction": "Open Settings.",
    "comment": "Missed a step.",
    "docs": {"kb-1": "relevant", "kb-2": "irrelevant"},
    "preference": "tie",
}


def check(values: Any, documents: tuple[str, ...] = ("kb-1", "kb-2")) -> dict[str, str]:
    errors = values_errors(values, fields=FIELDS, taxonomy=TAXONOMY, document_ids=documents)
    return {error.field: error.message for error in errors}


def test_a_complete_annotation_is_valid() -> None:
    assert check(GOOD) == {}


def test_optional_fields_may_be_left_out_and_relevance_needs_documents() -> None:
    assert check({"verdict": "good"}, documents=()) == {}


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        ({"verdict": None}, "values.verdict", "required; give one of: good, bad"),
        ({"verdict": "meh"}, "values.verdict", "'meh' is not allowed"),
        ({"reasons": "incorrect"}, "values.reasons", "must be a list"),
        ({"reasons": ["made_up"]}, "values.reasons", "'made_up' not allowed"),
        ({"reasons": ["unsafe", "unsafe"]}, "values.reasons", "twice"),
        ({"rating": 7}, "values.rating", "whole number from 1 to 5"),
        ({"rating": 2.5}, "values.rating", "whole number from 1 to 5"),
        ({"rating": True}, "values.rating", "whole number"),
        ({"correction": 42}, "values.correction", "must be text"),
        ({"docs": {"kb-1": "relevant"}}, "values.docs", "'kb-2' not rated"),
        ({"docs": {"kb-9": "relevant"}}, "values.docs", "not among the retrieved documents"),
        ({"docs": {"kb-1": "great", "kb-2": "relevant"}}, "values.docs", "not allowed"),
        ({"preference": "C"}, "values.preference", "give A, B or tie"),
        ({"colour": "red"}, "values.colour", "not a field of this queue's schema"),
    ],
)
def test_it_names_what_is_wrong_with_an_annotation(
    change: dict[str, Any], field: str, hint: str
) -> None:
    errors = check({**GOOD, **change})

    assert hint in errors[field], errors


def test_values_must_be_an_object() -> None:
    assert "object" in check(["bad"])["values"]


def test_the_whole_taxonomy_is_read_when_the_annotation_is_checked() -> None:
    errors = values_errors(
        {"verdict": "bad", "reasons": ["rude"]},
        fields=FIELDS[:2],
        taxonomy=[*TAXONOMY, "rude"],
    )

    assert errors == []


def test_annotators_disagree_only_on_fields_that_require_agreement() -> None:
    same = [{"verdict": "bad", "comment": "a"}, {"verdict": "bad", "comment": "b"}]
    differ = [{"verdict": "bad"}, {"verdict": "good"}]
    reordered = [
        {"verdict": "bad", "reasons": ["a", "b"]},
        {"verdict": "bad", "reasons": ["b", "a"]},
    ]

    assert disagreements(FIELDS, same) == []
    assert disagreements(FIELDS, differ) == ["verdict"]
    assert disagreements(FIELDS, reordered) == []
