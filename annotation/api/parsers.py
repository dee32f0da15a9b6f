"""The JSON parser every API view uses: bounded nesting and storable text, checked once here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from annotation.schemas.safe_json import MAX_JSON_DEPTH, UnsafeJson, json_loads_safe


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, plus: nesting past MAX_JSON_DEPTH, a NUL or a lone surrogate anywhere
    (keys too) is a 400 naming the field, instead of a RecursionError or a database error later."""

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # Imported here: DRF reads this class while `rest_framework.views` (which errors.py
        # imports) is still loading.
        from annotation.errors import AppError

        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise AppError(
                "The body is not valid UTF-8; send UTF-8 encoded JSON.", code="invalid_encoding"
            ) from None
        try:
            return json_loads_safe(text, max_depth=MAX_JSON_DEPTH)
        except UnsafeJson as exc:
            raise AppError(
                exc.problem.message, code=exc.problem.code, details=exc.problem.details()
            ) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
