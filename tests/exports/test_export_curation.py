"""Curation in a real export: duplicate prompts, the train/validation split, personal data."""

from __future__ import annotations

import pytest

from annotation.exports.curation import prompt_key, split_for
from annotation.models import Project
from tests.conftest import Persona
from tests.exports.conftest import SYSTEM, Reviews, all_bytes, build, manifest_on_disk, rows

GOOD = {"verdict": "good"}


# -- duplicates ----------------------------------------------------------------------------------


def test_exact_duplicate_prompts_collapse_to_the_first(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    reviews.item("same question", annotations=[{"verdict": "bad", "correction": "first"}])
    reviews.item("same question", annotations=[{"verdict": "bad", "correction": "second"}])
    reviews.item("Same question", annotations=[{"verdict": "bad", "correction": "other case"}])

    deduped = build(project, engineer, kind="sft")
    kept = build(project, engineer, kind="sft", dedupe=False)

    assert [r["messages"][-1]["content"] for r in rows(deduped)] == ["first", "other case"]
    assert deduped.manifest["counts"]["excluded"] == {"duplicate": 1}
    assert deduped.manifest["options"]["dedupe"] is True
    assert len(rows(kept)) == 3


def test_duplicate_preference_pairs_collapse_but_two_pairs_of_one_prompt_stay(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    both = {"verdict": "bad", "correction": "Best.", "preference": "B"}
    reviews.item("q", metadata={"response_b": "B."}, annotations=[both])
    reviews.item("q", metadata={"response_b": "B."}, annotations=[both])

    export = build(project, engineer, kind="preference")

    assert [r["chosen"][0]["content"] for r in rows(export)] == ["Best.", "B."]
    assert export.manifest["counts"]["excluded"] == {"duplicate": 2}


# -- split ---------------------------------------------------------------------------------------


def test_the_split_is_by_prompt_hash_and_the_same_on_every_run(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    for n in range(60):
        reviews.item(f"question {n}", annotations=[GOOD])

    first = build(project, engineer, kind="sft", split={"validation": 0.3, "seed": 7})
    again = build(project, engineer, kind="sft", split={"validation": 0.3, "seed": 7})
    other = build(project, engineer, kind="sft", split={"validation": 0.3, "seed": 8})

    train, validation = rows(first, "train"), rows(first, "validation")
    assert len(train) + len(validation) == 60
    assert 6 <= len(validation) <= 30
    for part, part_rows in (("train", train), ("validation", validation)):
        for row in part_rows:
            assert split_for(prompt_key(row["messages"][:-1]), validation=0.3, seed=7) == part
    assert [f["sha256"] for f in first.manifest["files"]] == [
        f["sha256"] for f in again.manifest["files"]
    ]
    assert rows(other, "validation") != validation
    assert [(f["name"], f["part"]) for f in first.manifest["files"]] == [
        ("train.jsonl", "train"),
        ("validation.jsonl", "validation"),
    ]
    assert first.manifest["options"]["split"] == {"validation": 0.3, "seed": 7}


def test_every_copy_of_a_prompt_lands_in_the_same_part(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    for n in range(20):
        for copy in range(3):
            reviews.item(
                f"question {n}", annotations=[{"verdict": "bad", "correction": f"c{copy}"}]
            )

    export = build(
        project, engineer, kind="sft", dedupe=False, split={"validation": 0.5, "seed": 1}
    )

    parts: dict[str, set[str]] = {}
    for part in ("train", "validation"):
        for row in rows(export, part):
            parts.setdefault(row["messages"][1]["content"], set()).add(part)
    assert len(parts) == 20
    assert all(len(found) == 1 for found in parts.values())


# -- personal data -------------------------------------------------------------------------------

EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"
PII = (EMAIL, PHONE, CARD, "jane.doe", "7946 0958", "1111 1111")


@pytest.fixture
def personal(reviews: Reviews) -> Reviews:
    """Personal data in every free-text place an export takes text from."""
    reviews.item(
        f"Mail me at {EMAIL} please",
        f"I will call you on {PHONE}.",
        annotations=[
            {
                "verdict": "bad",
                "reasons": ["unsafe"],
                "correction": f"I cannot use {CARD}.",
                "comment": f"leaks {EMAIL}",
                "preference": "B",
                "relevance": {"kb-1": "relevant"},
            }
        ],
        adjudication={"verdict": "bad", "comment": f"lead saw {PHONE}"},
        metadata={"response_b": f"Write to {EMAIL}", "note": f"user {EMAIL}"},
        retrieved_context=[{"id": "kb-1", "text": f"Support line {PHONE}", "score": 0.9}],
    )
    reviews.item("A clean question", "A clean answer.", annotations=[GOOD])
    return reviews


KINDS = ["sft", "preference", "openai_dpo", "eval", "retrieval", "annotations"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_personal_data_reaches_an_export_that_asked_for_redaction(
    personal: Reviews, project: Project, engineer: Persona, kind: str, fmt: str
) -> None:
    export = build(project, engineer, kind=kind, format=fmt, redact_pii=True)

    assert export.rows > 0
    # The files as stored (Parquet compresses, so also the rows decoded) and the manifest.
    text = repr(rows(export))
    for data in [*all_bytes(export), text.encode()]:
        for secret in PII:
            assert secret.encode() not in data, f"{secret!r} in a {kind} {fmt} export"
    assert "[EMAIL]" in text or "[PHONE]" in text or "[PAYMENT_CARD]" in text
    assert sum(manifest_on_disk(export)["counts"]["redacted"].values()) > 0


def test_redaction_replaces_each_kind_with_its_placeholder(
    personal: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(project, engineer, kind="sft", redact_pii=True)

    assert rows(export)[0] == {
        "messages": [
            SYSTEM,
            {"role": "user", "content": "Mail me at [EMAIL] please"},
            {"role": "assistant", "content": "I cannot use [PAYMENT_CARD]."},
        ]
    }
    assert export.manifest["counts"]["redacted"] == {"email": 1, "payment_card": 1}
    assert export.manifest["options"]["redact_pii"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_rows_with_personal_data_are_left_out_when_asked(
    personal: Reviews, project: Project, engineer: Persona, kind: str
) -> None:
    export = build(project, engineer, kind=kind, exclude_pii=True)

    for data in [*all_bytes(export), repr(rows(export)).encode()]:
        for secret in PII:
            assert secret.encode() not in data
    assert export.manifest["counts"]["excluded"].get("pii", 0) >= 1
    assert export.manifest["options"]["exclude_pii"] is True


def test_without_redaction_the_text_is_exported_as_it_is(
    personal: Reviews, project: Project, engineer: Persona
) -> None:
    export = build(project, engineer, kind="sft")

    assert EMAIL in rows(export)[0]["messages"][1]["content"]
    assert export.manifest["counts"]["redacted"] == {}
