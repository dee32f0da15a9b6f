"""The manifest of an export: what was asked, what came out, and how to check it.

``manifest.json`` is written last, after every data file is in place, so its presence
is what "done" means. Shape::

    {"kind": "sft", "format": "jsonl",
     "filters": {"queues": [1], "adjudicated_only": false, "min_agreement": 0.6},
     "options": {"redact_pii": true, "split": {"validation": 0.1, "seed": 7}},
     "counts": {"rows": 9000, "excluded": {"duplicate": 12, "empty_response": 3},
                "redacted": {"email": 41}},
     "schema_version": 1, "schema": {"version": 1, "fields": [...]},
     "files": [{"name": "train.jsonl", "part": "train", "rows": 8100,
                "sha256": "…", "bytes": 1234567}, …],
     "guideline_versions": [2, 3], "created_by": "eng1",
     "created_at": "2026-11-20T10:00:00Z", "empty": false, "message": null}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from annotation.exports.rows import KINDS, SCHEMA_VERSION, schema_for
from annotation.exports.writers import FORMATS, FileResult

MANIFEST_NAME = "manifest.json"

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ManifestError(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid export manifest: " + "; ".join(problems))
        self.problems = list(problems)


def build_manifest(
    *,
    kind: str,
    format: str,
    files: Sequence[FileResult],
    filters: Mapping[str, Any] | None = None,
    excluded: Mapping[str, int] | None = None,
    guideline_versions: Iterable[int] = (),
    created_by: str | None = None,
    created_at: datetime | None = None,
    redact_pii: bool = False,
    redacted: Mapping[str, int] | None = None,
    split: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of a finished export, validated; ``counts.rows`` is summed from ``files``."""
    rows = sum(f.rows for f in files)
    excluded_counts = {str(k): int(v) for k, v in sorted((excluded or {}).items()) if v}
    when = (created_at or datetime.now(UTC)).astimezone(UTC)
    manifest: dict[str, Any] = {
        "kind": kind,
        "format": format,
        "filters": dict(filters or {}),
        "options": {"redact_pii": redact_pii, "split": dict(split) if split else None},
        "counts": {
            "rows": rows,
            "excluded": excluded_counts,
            "redacted": {str(k): int(v) for k, v in sorted((redacted or {}).items()) if v},
        },
        "schema_version": SCHEMA_VERSION,
        "schema": schema_for(kind) if kind in KINDS else None,
        "files": [f.to_dict() for f in files],
        "guideline_versions": sorted({int(v) for v in guideline_versions}),
        "created_by": created_by,
        "created_at": when.isoformat().replace("+00:00", "Z"),
        "empty": rows == 0,
        "message": _empty_message(excluded_counts) if rows == 0 else None,
        "warnings": empty_part_warnings(
            {f.part: f.rows for f in files}, split=split if files and len(files) > 1 else None
        ),
    }
    validate_manifest(manifest)
    return manifest


def empty_part_warnings(rows_by_part: Mapping[str, int], *, split: Any) -> list[str]:
    """A warning for each part of a split that holds no row while another part has some.

    A split with a tiny validation share, or few distinct prompts (every copy of a prompt
    lands in one part), can leave a part empty: a trainer then gets nothing to validate on.
    """
    if not split or not any(rows_by_part.values()):
        return []
    share = split.get("validation") if isinstance(split, Mapping) else None
    return [
        f"The {part} part is empty: all {sum(rows_by_part.values())} rows went to "
        f"{', '.join(p for p, n in rows_by_part.items() if n)}. "
        + (
            f"Raise the validation share (now {share}) or change the seed, or export more "
            "reviewed items (rows with the same prompt always land in the same part)."
            if share is not None
            else "Change the split or export more reviewed items."
        )
        for part, rows in rows_by_part.items()
        if rows == 0
    ]


def _empty_message(excluded: Mapping[str, int]) -> str:
    if not excluded:
        return "No reviewed data matched these filters, so the export has no rows."
    reasons = ", ".join(f"{reason}: {n}" for reason, n in excluded.items())
    return (
        f"Every matching record was excluded ({sum(excluded.values())} in all: {reasons}), "
        "so the export has no rows."
    )


def manifest_problems(data: object) -> list[str]:
    """Everything wrong with ``data`` as a manifest; empty when it is valid."""
    if not isinstance(data, Mapping):
        return ["the manifest is not a JSON object"]
    problems: list[str] = []
    required = (
        "kind",
        "format",
        "filters",
        "counts",
        "schema_version",
        "files",
        "guideline_versions",
        "created_by",
        "created_at",
        "empty",
    )
    missing = [key for key in required if key not in data]
    if missing:
        return [f"missing keys: {', '.join(missing)}"]
    if data["kind"] not in KINDS:
        problems.append(f"kind {data['kind']!r} is not one of {', '.join(KINDS)}")
    if data["format"] not in FORMATS:
        problems.append(f"format {data['format']!r} is not one of {', '.join(FORMATS)}")
    if not isinstance(data["filters"], Mapping):
        problems.append("filters is not an object")
    if not _is_int(data["schema_version"]):
        problems.append("schema_version is not an integer")
    versions = data["guideline_versions"]
    if not isinstance(versions, list) or not all(_is_int(v) for v in versions):
        problems.append("guideline_versions is not a list of integers")
    if data["created_by"] is not None and not isinstance(data["created_by"], str):
        problems.append("created_by is neither a string nor null")
    try:
        datetime.fromisoformat(data["created_at"])
    except (TypeError, ValueError):
        problems.append(f"created_at {data['created_at']!r} is not an ISO 8601 timestamp")

    files = data["files"]
    file_rows = 0
    if not isinstance(files, list):
        problems.append("files is not a list")
        files = []
    names: set[str] = set()
    parts: set[str] = set()
    for i, entry in enumerate(files):
        where = f"files[{i}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where} is not an object")
            continue
        name, part = entry.get("name"), entry.get("part")
        if not isinstance(name, str) or not _FILE_NAME_RE.fullmatch(name) or name == MANIFEST_NAME:
            problems.append(f"{where}.name {name!r} is not a plain file name")
        elif name in names:
            problems.append(f"{where}.name {name!r} appears twice")
        else:
            names.add(name)
        if not isinstance(part, str) or not part:
            problems.append(f"{where}.part is not a non-empty string")
        elif part in parts:
            problems.append(f"{where}.part {part!r} appears twice")
        else:
            parts.add(part)
        if not isinstance(entry.get("sha256"), str) or not _SHA256_RE.fullmatch(entry["sha256"]):
            problems.append(f"{where}.sha256 is not 64 lowercase hex digits")
        for key in ("rows", "bytes"):
            if not _is_int(entry.get(key)) or entry[key] < 0:
                problems.append(f"{where}.{key} is not a non-negative integer")
        if _is_int(entry.get("rows")):
            file_rows += entry["rows"]

    counts = data["counts"]
    if not isinstance(counts, Mapping) or not _is_int(counts.get("rows")):
        problems.append("counts.rows is not an integer")
    else:
        if counts["rows"] != file_rows:
            problems.append(f"counts.rows is {counts['rows']} but the files hold {file_rows} rows")
        excluded = counts.get("excluded")
        if not isinstance(excluded, Mapping) or not all(
            isinstance(k, str) and _is_int(v) and v >= 0 for k, v in excluded.items()
        ):
            problems.append("counts.excluded is not an object of non-negative integers")
        if data["empty"] is not (counts["rows"] == 0):
            problems.append(f"empty is {data['empty']!r} but counts.rows is {counts['rows']}")
        elif data["empty"] and not data.get("message"):
            problems.append("an empty export needs a message saying why")
    return problems


def validate_manifest(data: object) -> dict[str, Any]:
    """``data`` if it is a valid manifest; otherwise ``ManifestError`` listing every problem."""
    problems = manifest_problems(data)
    if problems:
        raise ManifestError(problems)
    assert isinstance(data, dict)
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def encode_manifest(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


def decode_manifest(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise ManifestError([f"manifest.json is not JSON: {exc}"]) from None
    return validate_manifest(parsed)


def file_for_part(manifest: Mapping[str, Any], part: str | None = None) -> dict[str, Any]:
    """The manifest's entry for ``part``; with no part, the only file there is.

    Raises ``LookupError`` with a message naming the parts that exist.
    """
    files: list[dict[str, Any]] = list(manifest["files"])
    available = ", ".join(f["part"] for f in files) or "none"
    if part is None:
        if len(files) == 1:
            return files[0]
        raise LookupError(f"this export has several parts ({available}); choose one with ?part=")
    for entry in files:
        if entry["part"] == part:
            return entry
    raise LookupError(f"this export has no part {part!r}; its parts are: {available}")
