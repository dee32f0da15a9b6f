"""Decoding request bodies with msgspec into typed rows, with errors that name the field.

msgspec validates roughly 20x faster than DRF serializers, which matters on the bulk ingestion path;
its messages are rewritten here into `{"index", "field", "message"}` rows the API returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from annotation.schemas.ingestion import MAX_BATCH_ITEMS
from annotation.schemas.safe_json import MAX_JSON_DEPTH, json_problem

T = TypeVar("T")


class Batch(Protocol[T]):
    items: list[T]


_PATH_SUFFIX = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_FIELD_IN_MESSAGE = re.compile(r"field `(?P<field>[^`]+)`")


@dataclass(frozen=True, slots=True)
class RowError:
    index: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class BodyError(Exception):
    """The body as a whole cannot be read: nothing in it is processed."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass(frozen=True, slots=True)
class DecodedBatch(Generic[T]):
    """Valid rows with their index in the request, and the errors of the invalid ones."""

    rows: list[tuple[int, T]]
    errors: list[RowError]
    is_batch: bool
    size: int


def field_and_message(error: msgspec.ValidationError | ValueError) -> tuple[str, str]:
    """Split a msgspec error into a dotted field path and a readable message."""
    text = str(error)
    path = ""
    match = _PATH_SUFFIX.search(text)
    if match:
        path = match.group("path").lstrip(".")
        text = text[: match.start()]
    named = _FIELD_IN_MESSAGE.search(text)
    if named and ("missing required field" in text or "unknown field" in text):
        path = f"{path}.{named.group('field')}" if path else named.group("field")
        if "unknown field" in text:
            text = f"{text}; remove it (see /api/docs/ for the accepted fields)"
    return path, text


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string holding a NUL character (PostgreSQL cannot store it)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, msgspec.Struct):
        value = {field: getattr(value, field) for field in value.__struct_fields__}
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return f"{path}.{key}".lstrip(".")
            found = nul_path(item, f"{path}.{key}".lstrip("."))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _without_nul(batch: DecodedBatch[T]) -> DecodedBatch[T]:
    rows: list[tuple[int, T]] = []
    errors = list(batch.errors)
    for index, row in batch.rows:
        path = nul_path(row)
        if path is None:
            rows.append((index, row))
        else:
            errors.append(
                RowError(
                    index if batch.is_batch else None,
                    path,
                    "contains a NUL character (\\u0000), which cannot be stored; remove it",
                )
            )
    errors.sort(key=lambda error: -1 if error.index is None else error.index)
    return DecodedBatch(rows=rows, errors=errors, is_batch=batch.is_batch, size=batch.size)


def _not_utf8() -> BodyError:
    return BodyError("invalid_encoding", "The body is not valid UTF-8; send UTF-8 encoded JSON.")


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _unreadable_text(body: bytes, exc: Exception) -> BodyError | None:
    """A clear error for what msgspec refuses with a puzzling one: a lone surrogate escape."""
    if not _SURROGATE_ESCAPE.search(body):
        return None
    try:
        problem = json_problem(json.loads(body), max_depth=MAX_JSON_DEPTH + 8)
    except (ValueError, RecursionError):
        return None
    if problem is None or problem.code != "invalid_text":
        return None
    return BodyError(problem.code, problem.message, problem.details())


def _too_deep() -> BodyError:
    return BodyError(
        "too_deep",
        f"The body is nested more than {MAX_JSON_DEPTH} levels deep; flatten `metadata`.",
        {"max_depth": MAX_JSON_DEPTH},
    )


def decode_rows(
    body: bytes, row_type: type[T], batch_type: type[Batch[T]] | None = None
) -> DecodedBatch[T]:
    """Decode one object or `{"items": [...]}` into typed rows, collecting per-row errors."""
    try:
        batch = _decode_rows(body, row_type, batch_type)
    except RecursionError:
        # msgspec gives up near Python's recursion limit, far past ours.
        raise _too_deep() from None
    except msgspec.DecodeError as exc:
        raise _unreadable_text(body, exc) or BodyError(
            "malformed_json", f"The body is not valid JSON: {exc}."
        ) from None
    # JSON can only carry NUL as the escape \u0000, so most bodies skip the walk entirely.
    return _without_nul(batch) if b"\\u0000" in body else batch


def _decode_rows(
    body: bytes, row_type: type[T], batch_type: type[Batch[T]] | None = None
) -> DecodedBatch[T]:
    """Decode one object or `{"items": [...]}` into typed rows, collecting per-row errors.

    A valid batch decodes in one pass through `batch_type` (about 4x faster); only a body that
    fails it is taken apart row by row to report every bad row.
    """
    if not body.strip():
        raise BodyError("empty_body", "The request body is empty; send a JSON object.")
    # Checked up front (about 0.5 ms per MB): msgspec reports bad UTF-8 differently by version.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8() from None
    if batch_type is not None:
        try:
            items = msgspec.json.decode(body, type=batch_type).items
            return DecodedBatch(
                rows=list(enumerate(items)), errors=[], is_batch=True, size=len(items)
            )
        except UnicodeDecodeError:
            raise _not_utf8() from None
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
            pass
    try:
        top = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    except UnicodeDecodeError:
        raise _not_utf8() from None
    except msgspec.ValidationError:
        raise BodyError(
            "invalid_body", 'The body must be a JSON object, or {"items": [...]} for a batch.'
        ) from None
    except msgspec.DecodeError as exc:
        raise _unreadable_text(body, exc) or BodyError(
            "malformed_json", f"The body is not valid JSON: {exc}."
        ) from None

    if "items" not in top:
        return _decode_single(body, row_type)

    extra = sorted(set(top) - {"items"})
    if extra:
        raise BodyError(
            "invalid_body",
            f"A batch body has only the key 'items'; remove {', '.join(repr(k) for k in extra)}.",
            {"fields": extra},
        )
    try:
        raw_rows = msgspec.json.decode(top["items"], type=list[msgspec.Raw])
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise BodyError("invalid_body", "'items' must be a JSON array of objects.") from None
    if not raw_rows:
        raise BodyError("empty_batch", "'items' is empty; send between 1 and 1,000 items.")
    if len(raw_rows) > MAX_BATCH_ITEMS:
        raise BodyError(
            "too_many_items",
            f"'items' has {len(raw_rows)} entries; send at most {MAX_BATCH_ITEMS} per request.",
            {"max_items": MAX_BATCH_ITEMS, "received": len(raw_rows)},
        )
    rows: list[tuple[int, T]] = []
    errors: list[RowError] = []
    for index, raw in enumerate(raw_rows):
        try:
            rows.append((index, msgspec.json.decode(raw, type=row_type)))
        except UnicodeDecodeError:
            raise _not_utf8() from None
        except (msgspec.ValidationError, ValueError) as exc:
            field, message = field_and_message(exc)
            errors.append(RowError(index, field, message))
    return DecodedBatch(rows=rows, errors=errors, is_batch=True, size=len(raw_rows))


def _decode_single(body: bytes, row_type: type[T]) -> DecodedBatch[T]:
    try:
        row = msgspec.json.decode(body, type=row_type)
    except UnicodeDecodeError:
        raise _not_utf8() from None
    except (msgspec.ValidationError, ValueError) as exc:
        field, message = field_and_message(exc)
        return DecodedBatch(
            rows=[], errors=[RowError(None, field, message)], is_batch=False, size=1
        )
    return DecodedBatch(rows=[(0, row)], errors=[], is_batch=False, size=1)


def errors_as_dicts(errors: Sequence[RowError]) -> list[dict[str, Any]]:
    return [error.as_dict() for error in errors]
