"""Settling a reviewed item: final values, agreement, roles of schema fields (no database)."""

from __future__ import annotations

from collections import Counter

import pytest

from annotation.exports.reviewed import (
    NEGATIVE_VERDICTS,
    ReviewedItem,
    RowMaker,
    pair_agreement,
    schema_roles,
    settle,
)
from annotation.exports.rows import RowError
from annotation.review.settle import NEGATIVE_VERDICTS as SETTLED_NEGATIVE_VERDICTS
from annotation.selectors.checks import NEGATIVE_VERDICTS as CHECKS_NEGATIVE_VERDICTS
from tests.exports.conftest import EXPORT_SCHEMA
from tests.factories import REVIEW_SCHEMA

ROLES = schema_roles(EXPORT_SCHEMA)


def test_it_finds_the_role_of_each_field() -> None:
    roles = schema_roles(EXPORT_SCHEMA)

    assert roles.verdict is not None and roles.verdict.name == "verdict"
    assert roles.reasons is not None and roles.reasons.name == "reasons"
    assert roles.correction is not None and roles.correction.name == "correction"
    assert roles.pairwise is not None and roles.pairwise.name == "preference"
    assert roles.relevance is not None and roles.relevance.name == "relevance"
    assert [f.name for f in roles.agreement] == ["verdict"]
    assert [f.name for f in roles.labels] == ["verdict", "rating", "relevance", "preference"]


def test_a_schema_without_agreement_fields_agrees_on_the_verdict() -> None:
    schema = {
        "fields": [
            {"name": "quality", "type": "choice", "options": ["ok", "wrong"]},
            {"name": "tags", "type": "multi_choice", "options": ["a", "b"]},
        ]
    }
    roles = schema_roles(schema)

    assert roles.verdict is not None and roles.verdict.name == "quality"
    assert roles.reasons is not None and roles.reasons.name == "tags"
    assert [f.name for f in roles.agreement] == ["quality"]


def test_one_annotation_is_final_as_it_is() -> None:
    values = {"verdict": "bad", "correction": "x"}

    outcome = settle(ROLES, [values])

    assert outcome.values == values
    assert outcome.adjudicated is False
    assert outcome.agreement is None


def test_the_majority_verdict_wins_and_a_tie_is_unsettled() -> None:
    majority = settle(ROLES, [{"verdict": "good"}, {"verdict": "bad"}, {"verdict": "bad"}])
    tie = settle(ROLES, [{"verdict": "good", "correction": "x"}, {"verdict": "bad"}])

    assert majority.settled and majority.values["verdict"] == "bad"
    assert tie.settled is False
    assert tie.unsettled == ("verdict",)
    assert tie.values == {}


def test_a_tie_on_any_agreement_field_is_unsettled_until_a_lead_decides() -> None:
    roles = schema_roles(
        {
            "fields": [
                {"name": "verdict", "type": "choice", "options": ["good", "bad"]},
                {"name": "topic", "type": "choice", "options": ["a", "b"], "agreement": True},
            ]
        }
    )
    answers = [{"verdict": "bad", "topic": "a"}, {"verdict": "bad", "topic": "b"}]

    assert settle(roles, answers).unsettled == ("topic",)
    decided = settle(roles, answers, {"verdict": "bad"})
    assert decided.settled and decided.tied == ("topic",)
    assert settle(roles, answers, {"topic": "b"}).values == {"verdict": "bad", "topic": "b"}


def test_other_fields_come_from_the_annotators_who_gave_the_final_verdict() -> None:
    outcome = settle(
        ROLES,
        [
            {"verdict": "good", "rating": 5},
            {"verdict": "bad", "rating": 2, "reasons": ["incorrect", "unhelpful"]},
            {"verdict": "bad", "rating": 1, "reasons": ["unhelpful", "incorrect"]},
        ],
    )

    # Reasons compare as sets; the rating of the first "bad" annotator breaks the tie.
    assert outcome.values == {
        "verdict": "bad",
        "rating": 2,
        "reasons": ["incorrect", "unhelpful"],
    }


def test_corrections_that_differ_only_in_whitespace_count_as_one_answer() -> None:
    outcome = settle(
        ROLES,
        [
            {"verdict": "bad", "correction": "Use the link."},
            {"verdict": "bad", "correction": "Use  the\nlink. "},
            {"verdict": "bad", "correction": "Call us."},
        ],
    )

    assert outcome.values["correction"] == "Use the link."


def test_the_lead_settles_what_they_filled_in_and_the_supporters_the_rest() -> None:
    outcome = settle(
        ROLES,
        [{"verdict": "good", "rating": 5}, {"verdict": "bad", "rating": 1, "correction": "x"}],
        {"verdict": "bad", "rating": 2},
    )

    assert outcome.values == {"verdict": "bad", "rating": 2, "correction": "x"}
    assert outcome.adjudicated is True
    assert outcome.agreement == 0.0


def test_relevance_is_settled_document_by_document() -> None:
    outcome = settle(
        ROLES,
        [
            {"relevance": {"a": "relevant", "b": "irrelevant"}},
            {"relevance": {"a": "irrelevant", "b": "irrelevant"}},
            {"relevance": {"a": "relevant"}},
        ],
    )

    assert outcome.values["relevance"] == {"a": "relevant", "b": "irrelevant"}


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (["good"], None),
        (["good", "good"], 1.0),
        (["good", "bad"], 0.0),
        (["good", "good", "bad"], 1 / 3),
        (["good", "good", "good", "bad"], 0.5),
    ],
)
def test_agreement_is_the_share_of_annotator_pairs_that_agree(
    verdicts: list[str], expected: float | None
) -> None:
    assert pair_agreement(ROLES, [{"verdict": v} for v in verdicts]) == expected


def test_agreement_needs_every_agreement_field_to_match() -> None:
    schema = {
        "fields": [
            {"name": "verdict", "type": "choice", "options": ["good", "bad"], "agreement": True},
            {"name": "tags", "type": "multi_choice", "options": ["a", "b"], "agreement": True},
        ]
    }
    roles = schema_roles(schema)

    same = [{"verdict": "bad", "tags": ["a", "b"]}, {"verdict": "bad", "tags": ["b", "a"]}]
    different = [{"verdict": "bad", "tags": ["a"]}, {"verdict": "bad", "tags": ["b"]}]
    assert pair_agreement(roles, same) == 1.0
    assert pair_agreement(roles, different) == 0.0


def test_values_of_a_shape_the_schema_no_longer_has_do_not_break_settling() -> None:
    outcome = settle(ROLES, [{"verdict": ["bad"]}, {"verdict": ["bad"]}, {"verdict": "good"}])

    assert outcome.values["verdict"] == ["bad"]


def test_the_negative_verdicts_are_the_checks_reports() -> None:
    assert NEGATIVE_VERDICTS == CHECKS_NEGATIVE_VERDICTS == SETTLED_NEGATIVE_VERDICTS


def test_the_review_schema_of_the_factories_exports() -> None:
    roles = schema_roles(REVIEW_SCHEMA)
    item = ReviewedItem(1, 1, "r", [{"role": "user", "content": "q"}], "a", [])
    maker = RowMaker("sft")

    rows = maker.rows(item, roles, settle(roles, [{"verdict": "good"}]), Counter())

    assert rows == [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    ]
    with pytest.raises(RowError) as refused:
        maker.rows(item, roles, settle(roles, [{"verdict": "bad"}]), Counter())
    assert refused.value.reason == "rejected_without_correction"
