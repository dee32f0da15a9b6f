from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from annotation.exports.rows import (
    FIELDS,
    KINDS,
    SCHEMA_VERSION,
    RowError,
    annotation_row,
    eval_row,
    field_names,
    preference_row,
    retrieval_rows,
    schema_for,
    sft_row,
)

CONVERSATION = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "How do I reset my password?"},
]


def _reason(exc: pytest.ExceptionInfo[RowError]) -> str:
    return exc.value.reason


# --- sft ---------------------------------------------------------------------------


def test_it_builds_an_sft_row_ending_with_the_final_text() -> None:
    row = sft_row(CONVERSATION, "Open Settings, then Security.")

    assert row == {
        "messages": [
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "How do I reset my password?"},
            {"role": "assistant", "content": "Open Settings, then Security."},
        ]
    }
    assert list(row) == list(field_names("sft"))


def test_it_replaces_a_trailing_assistant_turn_with_the_correction() -> None:
    row = sft_row([*CONVERSATION, {"role": "assistant", "content": "wrong"}], "right")

    assert row["messages"][-1] == {"role": "assistant", "content": "right"}
    assert len(row["messages"]) == 3


def test_it_keeps_earlier_assistant_turns_of_a_multi_turn_chat() -> None:
    turns = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "reset?"},
    ]

    assert [m["content"] for m in sft_row(turns, "ok")["messages"]] == [
        "hi",
        "hello",
        "reset?",
        "ok",
    ]


def test_it_sets_or_replaces_the_system_prompt() -> None:
    replaced = sft_row(CONVERSATION, "ok", system_prompt="Be brief.")
    added = sft_row(CONVERSATION[1:], "ok", system_prompt="Be brief.")

    assert replaced["messages"][0] == {"role": "system", "content": "Be brief."}
    assert len(replaced["messages"]) == 3
    assert added["messages"][0] == {"role": "system", "content": "Be brief."}
    assert len(added["messages"]) == 3


def test_it_accepts_a_plain_prompt_string_as_one_user_turn() -> None:
    assert sft_row("What is 2+2?", "4") == {
        "messages": [
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
        ]
    }


def test_it_drops_keys_other_than_role_and_content() -> None:
    row = sft_row([{"role": "user", "content": "q", "name": "bob", "ts": 1}], "a")

    assert row["messages"][0] == {"role": "user", "content": "q"}


def test_it_does_not_modify_the_callers_messages() -> None:
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "old"}]

    sft_row(turns, "new", system_prompt="sys")

    assert turns == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "old"}]


@pytest.mark.parametrize(
    ("messages", "final", "reason"),
    [
        (CONVERSATION, "", "empty_response"),
        (CONVERSATION, "   \n", "empty_response"),
        ([{"role": "system", "content": "s"}], "a", "no_user_turn"),
        ([], "a", "no_user_turn"),
        ([{"role": "robot", "content": "x"}], "a", "invalid_messages"),
        ([{"role": "user", "content": None}], "a", "invalid_messages"),
        (["not a dict"], "a", "invalid_messages"),
    ],
)
def test_it_says_why_a_record_cannot_be_an_sft_row(
    messages: list[object], final: str, reason: str
) -> None:
    with pytest.raises(RowError) as exc:
        sft_row(messages, final)  # type: ignore[arg-type]

    assert _reason(exc) == reason


def test_it_names_the_offending_message_index() -> None:
    with pytest.raises(RowError, match=r"messages\[1\]\.role"):
        sft_row([{"role": "user", "content": "q"}, {"role": "bot", "content": "x"}], "a")


# --- preference --------------------------------------------------------------------


def test_it_builds_a_trl_conversational_preference_row() -> None:
    row = preference_row([*CONVERSATION, {"role": "assistant", "content": "bad"}], "good", "bad")

    assert list(row) == ["prompt", "chosen", "rejected"]
    assert row["prompt"] == CONVERSATION
    assert row["chosen"] == [{"role": "assistant", "content": "good"}]
    assert row["rejected"] == [{"role": "assistant", "content": "bad"}]


def test_it_refuses_a_pair_whose_answers_are_the_same() -> None:
    with pytest.raises(RowError) as exc:
        preference_row(CONVERSATION, "same answer", "same answer ")

    assert _reason(exc) == "identical_pair"


def test_it_refuses_an_empty_side_of_a_pair() -> None:
    with pytest.raises(RowError) as exc:
        preference_row(CONVERSATION, "good", "")

    assert _reason(exc) == "empty_response"


# --- eval --------------------------------------------------------------------------


def test_it_builds_an_eval_row_field_by_field() -> None:
    row = eval_row(
        [*CONVERSATION, {"role": "assistant", "content": "Call us."}],
        "Open Settings, then Security.",
        id="req-1",
        response="Call us.",
        labels={"verdict": "bad", "rating": 2},
        reasons=["incorrect", "unhelpful"],
    )

    assert list(row) == list(field_names("eval"))
    assert row["id"] == "req-1"
    assert row["prompt"] == CONVERSATION
    assert row["reference"] == "Open Settings, then Security."
    assert row["response"] == "Call us."
    assert row["labels"] == {"verdict": "bad", "rating": 2}
    assert row["reasons"] == ["incorrect", "unhelpful"]


def test_it_leaves_the_reference_null_when_reviewers_wrote_none() -> None:
    row = eval_row(CONVERSATION, "  ", id="req-2")

    assert row["reference"] is None
    assert row["response"] is None
    assert row["labels"] == {}
    assert row["reasons"] == []


# --- retrieval ---------------------------------------------------------------------

DOCS = [
    {"id": "kb-7", "text": "Reset via Settings.", "score": 0.82, "source": "kb"},
    {"id": "kb-9", "text": "Billing FAQ.", "score": 0.4, "source": "kb"},
    {"id": 12, "text": "Unjudged.", "score": None},
]


def test_it_builds_one_retrieval_row_per_judged_document() -> None:
    rows = list(retrieval_rows("reset password", DOCS, {"kb-7": True, "kb-9": 0}, query_id="req-1"))

    assert rows == [
        {
            "query_id": "req-1",
            "query": "reset password",
            "doc_id": "kb-7",
            "doc_text": "Reset via Settings.",
            "relevant": True,
            "rank": 1,
            "score": 0.82,
            "source": "kb",
        },
        {
            "query_id": "req-1",
            "query": "reset password",
            "doc_id": "kb-9",
            "doc_text": "Billing FAQ.",
            "relevant": False,
            "rank": 2,
            "score": 0.4,
            "source": "kb",
        },
    ]
    assert all(list(r) == list(field_names("retrieval")) for r in rows)


def test_it_reads_graded_relevance_and_numeric_document_ids() -> None:
    rows = list(retrieval_rows("q", DOCS, {"12": 2}))

    assert [(r["doc_id"], r["relevant"], r["rank"], r["score"], r["source"]) for r in rows] == [
        ("12", True, 3, None, None)
    ]


@pytest.mark.parametrize(
    ("query", "relevance", "reason"),
    [
        ("q", {}, "no_judgements"),
        ("q", {"other": True}, "no_judgements"),
        ("", {"kb-7": True}, "empty_query"),
        ("q", {"kb-7": "yes"}, "invalid_relevance"),
    ],
)
def test_it_says_why_a_query_gives_no_retrieval_rows(
    query: str, relevance: dict[str, object], reason: str
) -> None:
    with pytest.raises(RowError) as exc:
        retrieval_rows(query, DOCS, relevance)  # type: ignore[arg-type]

    assert _reason(exc) == reason


# --- annotations -------------------------------------------------------------------


def test_it_flattens_an_annotation_into_one_row() -> None:
    created = datetime(2026, 11, 20, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    row = annotation_row(
        annotation_id=5,
        request_id="req-1",
        queue_id=2,
        queue="Weekly review",
        item_id=9,
        annotator="ann1",
        values={"verdict": "bad", "reasons": ["incorrect"], "correction": "fixed"},
        created_at=created,
        updated_at=created + timedelta(minutes=1),
        item_reasons=["low_rated", "random"],
        inclusion_probability=0.01,
        guideline_version=3,
        revision=2,
        seconds=21.5,
        adjudication={"verdict": "bad"},
        metadata={"locale": "en-GB"},
    )

    assert list(row) == list(field_names("annotations"))
    assert row == {
        "annotation_id": 5,
        "request_id": "req-1",
        "queue_id": 2,
        "queue": "Weekly review",
        "item_id": 9,
        "item_reasons": ["low_rated", "random"],
        "inclusion_probability": 0.01,
        "annotator": "ann1",
        "guideline_version": 3,
        "revision": 2,
        "seconds": 21.5,
        "values": {"verdict": "bad", "reasons": ["incorrect"], "correction": "fixed"},
        "created_at": datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 20, 10, 1, tzinfo=UTC),
        "adjudication": {"verdict": "bad"},
        "metadata": {"locale": "en-GB"},
    }
    assert row["created_at"].tzinfo is UTC


def test_it_refuses_naive_timestamps() -> None:
    with pytest.raises(ValueError, match="created_at must be an aware datetime"):
        annotation_row(
            annotation_id=1,
            request_id="r",
            queue_id=1,
            queue="q",
            item_id=1,
            annotator="a",
            values={},
            created_at=datetime(2026, 1, 1),
            updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        )


# --- schemas -----------------------------------------------------------------------


def test_it_describes_every_kind_with_a_versioned_schema() -> None:
    assert set(FIELDS) == set(KINDS)
    for kind in KINDS:
        schema = schema_for(kind)
        assert schema["version"] == SCHEMA_VERSION
        assert [f["name"] for f in schema["fields"]] == list(field_names(kind))  # type: ignore[attr-defined, index]


def test_it_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown export kind 'dpo'"):
        field_names("dpo")
