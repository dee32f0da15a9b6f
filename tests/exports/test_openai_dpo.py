"""The OpenAI preference (DPO) fine-tuning format beside TRL's: the same pairs, OpenAI's shape.

OpenAI's preference fine-tuning reads JSONL lines of exactly
``{"input": {"messages": [...]}, "preferred_output": [{"role": "assistant", ...}],
"non_preferred_output": [{"role": "assistant", ...}]}`` (``input`` may also carry ``tools``
and ``parallel_tool_calls``); ``documented_shape_problems`` checks a line against that.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from annotation.exports.rows import RowError, openai_dpo_row, preference_row
from annotation.models import JobStatus, Project
from tests.conftest import Persona
from tests.exports.conftest import SYSTEM, Reviews, build, local_path, rows

RESPONSE = "Open Settings, then Security."
INPUT_ROLES = {"system", "developer", "user", "assistant", "tool"}


def documented_shape_problems(line: Any) -> list[str]:
    """What keeps `line` from being a line of OpenAI's preference fine-tuning file."""
    if not isinstance(line, dict):
        return ["not an object"]
    problems = []
    if set(line) != {"input", "preferred_output", "non_preferred_output"}:
        problems.append(f"top-level keys are {sorted(line)}")
    given = line.get("input")
    if not isinstance(given, dict) or not set(given) <= {
        "messages",
        "tools",
        "parallel_tool_calls",
    }:
        problems.append("input is not an object of messages (and tools)")
    else:
        messages = given.get("messages")
        if not isinstance(messages, list) or not messages:
            problems.append("input.messages is not a non-empty list")
        else:
            for message in messages:
                if set(message) != {"role", "content"} or message["role"] not in INPUT_ROLES:
                    problems.append(f"input message {message!r} is not a chat message")
            if messages[-1]["role"] == "assistant":
                problems.append("input ends with an assistant turn")
    for key in ("preferred_output", "non_preferred_output"):
        output = line.get(key)
        if (
            not isinstance(output, list)
            or len(output) != 1
            or set(output[0]) != {"role", "content"}
            or output[0]["role"] != "assistant"
            or not isinstance(output[0]["content"], str)
        ):
            problems.append(f"{key} is not one assistant message")
    return problems


def test_the_shape_check_refuses_trls_format() -> None:
    trl = preference_row([{"role": "user", "content": "Hi"}], "Hello!", "Go away.")

    assert documented_shape_problems(trl)
    assert documented_shape_problems(openai_dpo_row(trl)) == []


def test_openai_rows_are_the_preference_pairs_in_openais_shape(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("corrected", annotations=[{"verdict": "bad", "correction": "Better."}])
    reviews.item("b wins", metadata={"response_b": "Answer B."}, annotations=[{"preference": "B"}])
    reviews.item("tie", metadata={"response_b": "Answer B."}, annotations=[{"preference": "tie"}])
    reviews.item("approved", annotations=[{"verdict": "good"}])

    trl = build(project, engineer, kind="preference")
    openai = build(project, engineer, kind="openai_dpo")

    assert openai.status == JobStatus.DONE
    lines = [
        json.loads(text)
        for text in local_path(openai, "all.jsonl").read_text().splitlines()
        if text.strip()
    ]
    assert [documented_shape_problems(line) for line in lines] == [[], []]
    assert lines == [
        {
            "input": {"messages": [SYSTEM, {"role": "user", "content": "corrected"}]},
            "preferred_output": [{"role": "assistant", "content": "Better."}],
            "non_preferred_output": [{"role": "assistant", "content": RESPONSE}],
        },
        {
            "input": {"messages": [SYSTEM, {"role": "user", "content": "b wins"}]},
            "preferred_output": [{"role": "assistant", "content": "Answer B."}],
            "non_preferred_output": [{"role": "assistant", "content": RESPONSE}],
        },
    ]
    assert lines == [openai_dpo_row(row) for row in rows(trl)]
    assert openai.manifest["kind"] == "openai_dpo"
    assert openai.manifest["counts"]["excluded"] == trl.manifest["counts"]["excluded"]
    assert [f["name"] for f in openai.manifest["schema"]["fields"]] == [
        "input",
        "preferred_output",
        "non_preferred_output",
    ]


def test_openai_rows_are_redacted_deduplicated_and_split_like_trls(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    for _ in range(2):  # the same pair twice: one row
        reviews.item(
            "mail me at ann@example.com",
            annotations=[{"verdict": "bad", "correction": "Write to help@example.com."}],
        )

    export = build(
        project, engineer, kind="openai_dpo", redact_pii=True, split={"validation": 0.5, "seed": 3}
    )

    assert export.manifest["counts"]["excluded"] == {"duplicate": 1}
    # Redaction runs before duplicates are found: both copies' addresses are counted.
    assert export.manifest["counts"]["redacted"] == {"email": 4}
    (line,) = [row for f in export.manifest["files"] for row in rows(export, f["part"])]
    assert line["input"]["messages"][-1]["content"] == "mail me at [EMAIL]"
    assert line["preferred_output"][0]["content"] == "Write to [EMAIL]."


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_openai_rows_load_from_csv_and_parquet_too(
    reviews: Reviews, project: Project, engineer: Persona, fmt: str
) -> None:
    reviews.item("corrected", annotations=[{"verdict": "bad", "correction": "Better."}])

    export = build(project, engineer, kind="openai_dpo", format=fmt)

    (row,) = rows(export)
    assert row["preferred_output"] == [{"role": "assistant", "content": "Better."}]
    given = row["input"] if isinstance(row["input"], dict) else json.loads(row["input"])
    assert given["messages"][-1] == {"role": "user", "content": "corrected"}


def test_a_pair_with_the_same_answers_is_refused_before_it_is_reshaped() -> None:
    with pytest.raises(RowError):
        openai_dpo_row(preference_row([{"role": "user", "content": "Hi"}], "Same.", "Same."))
