from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from annotation.exports.manifest import (
    ManifestError,
    build_manifest,
    decode_manifest,
    encode_manifest,
    file_for_part,
    manifest_problems,
)
from annotation.exports.rows import SCHEMA_VERSION
from annotation.exports.writers import FileResult

SHA = "ab" * 32
TRAIN = FileResult(name="train.jsonl", part="train", rows=90, sha256=SHA, bytes=9000)
VALIDATION = FileResult(name="validation.jsonl", part="validation", rows=10, sha256=SHA, bytes=1000)


def _manifest(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "kind": "sft",
        "format": "jsonl",
        "files": [TRAIN, VALIDATION],
        "filters": {"queues": [1], "adjudicated_only": False, "min_agreement": 0.6},
        "excluded": {"duplicate": 3, "empty_response": 0, "no_user_turn": 1},
        "guideline_versions": [3, 2, 3],
        "created_by": "eng1",
        "created_at": datetime(2026, 11, 20, 11, 0, tzinfo=timezone(timedelta(hours=1))),
        "redact_pii": True,
        "redacted": {"email": 4},
        "split": {"validation": 0.1, "seed": 7},
    }
    return build_manifest(**{**args, **overrides})


def test_it_builds_a_manifest_with_every_field() -> None:
    manifest = _manifest()

    assert manifest == {
        "kind": "sft",
        "format": "jsonl",
        "filters": {"queues": [1], "adjudicated_only": False, "min_agreement": 0.6},
        "options": {"redact_pii": True, "split": {"validation": 0.1, "seed": 7}},
        "counts": {
            "rows": 100,
            "excluded": {"duplicate": 3, "no_user_turn": 1},
            "redacted": {"email": 4},
        },
        "schema_version": SCHEMA_VERSION,
        "schema": {
            "version": SCHEMA_VERSION,
            "fields": [{"name": "messages", "type": "messages", "nullable": False}],
        },
        "files": [TRAIN.to_dict(), VALIDATION.to_dict()],
        "guideline_versions": [2, 3],
        "created_by": "eng1",
        "created_at": "2026-11-20T10:00:00Z",
        "empty": False,
        "message": None,
        "warnings": [],
    }


def test_it_marks_an_export_with_no_matching_data_as_empty() -> None:
    empty = FileResult(name="all.jsonl", part="all", rows=0, sha256=SHA, bytes=0)

    manifest = _manifest(files=[empty], excluded={})

    assert manifest["empty"] is True
    assert manifest["counts"]["rows"] == 0
    assert (
        manifest["message"] == "No reviewed data matched these filters, so the export has no rows."
    )


def test_it_says_why_everything_was_excluded() -> None:
    empty = FileResult(name="all.jsonl", part="all", rows=0, sha256=SHA, bytes=0)

    manifest = _manifest(files=[empty], excluded={"duplicate": 2, "identical_pair": 5})

    assert manifest["empty"] is True
    assert manifest["message"] == (
        "Every matching record was excluded (7 in all: duplicate: 2, identical_pair: 5), "
        "so the export has no rows."
    )


def test_it_round_trips_through_json() -> None:
    manifest = _manifest()

    assert decode_manifest(encode_manifest(manifest)) == manifest


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m["counts"].update(rows=5), "counts.rows is 5 but the files hold 100 rows"),
        (lambda m: m["files"][0].update(sha256="XYZ"), "files[0].sha256 is not 64 lowercase hex"),
        (
            lambda m: m["files"][1].update(name="train.jsonl"),
            "files[1].name 'train.jsonl' appears twice",
        ),
        (
            lambda m: m["files"][0].update(name="../etc/passwd"),
            "files[0].name '../etc/passwd' is not a plain",
        ),
        (
            lambda m: m["files"][0].update(name="manifest.json"),
            "files[0].name 'manifest.json' is not a plain",
        ),
        (lambda m: m["files"][1].update(part="train"), "files[1].part 'train' appears twice"),
        (lambda m: m["files"][0].update(bytes=-1), "files[0].bytes is not a non-negative integer"),
        (lambda m: m.update(kind="dpo"), "kind 'dpo' is not one of"),
        (lambda m: m.update(format="xlsx"), "format 'xlsx' is not one of"),
        (lambda m: m.update(empty=True), "empty is True but counts.rows is 100"),
        (lambda m: m.update(created_at="yesterday"), "created_at 'yesterday' is not an ISO 8601"),
        (lambda m: m.pop("files"), "missing keys: files"),
    ],
)
def test_it_finds_what_is_wrong_with_a_manifest(change: Any, problem: str) -> None:
    manifest = _manifest()
    change(manifest)

    problems = manifest_problems(manifest)

    assert any(p.startswith(problem) for p in problems), problems
    with pytest.raises(ManifestError):
        decode_manifest(encode_manifest(manifest))


def test_it_refuses_a_manifest_that_is_not_json() -> None:
    with pytest.raises(ManifestError, match="not JSON"):
        decode_manifest(b"{")


def test_it_finds_the_file_of_a_part() -> None:
    manifest = _manifest()

    assert file_for_part(manifest, "validation")["name"] == "validation.jsonl"
    with pytest.raises(
        LookupError, match=r"several parts \(train, validation\); choose one with \?part="
    ):
        file_for_part(manifest)
    with pytest.raises(LookupError, match="no part 'test'; its parts are: train, validation"):
        file_for_part(manifest, "test")


def test_it_needs_no_part_when_there_is_one_file() -> None:
    assert file_for_part(_manifest(files=[TRAIN]))["name"] == "train.jsonl"


def test_it_stamps_the_current_time_when_none_is_given() -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    stamped = datetime.fromisoformat(_manifest(created_at=None)["created_at"])

    assert stamped >= before
