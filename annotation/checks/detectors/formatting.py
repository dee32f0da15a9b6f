"""Format checks on a model response, and validators for check configurations.

Every ``check_*`` function returns a list of ``FormatIssue``; empty means
the response passed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for

from annotation.checks.detectors import language as lang_detect
from annotation.checks.detectors.phrases import compile_phrases, find_phrases
from annotation.checks.detectors.spans import Span


@dataclass(frozen=True, slots=True)
class FormatIssue:
    code: str
    message: str
    spans: tuple[Span, ...] = ()


def check_empty(response: str) -> list[FormatIssue]:
    if response and not response.isspace():
        return []
    return [FormatIssue("empty_response", "The response is empty.")]


def check_max_length(response: str, max_chars: int) -> list[FormatIssue]:
    if max_chars < 0:
        raise ValueError("max_chars must be zero or more")
    if len(response) <= max_chars:
        return []
    return [
        FormatIssue(
            "too_long",
            f"The response is {len(response)} characters long; the limit is {max_chars}.",
            (Span(max_chars, len(response), "too_long"),),
        )
    ]


_JSON_SPACE = " \t\n\r"
# Characters a JSON text can start with.
_JSON_STARTS = frozenset('{["-0123456789tfn')
# ```json ... ``` (or a bare ``` fence) around the whole response.
_FENCE_RE = re.compile(r"\A\s*```[ \t]*(?:json5?|JSON)?[ \t]*\r?\n(.*?)```\s*\Z", re.DOTALL)


def check_json(response: str, schema: Mapping[str, Any] | None = None) -> list[FormatIssue]:
    """``invalid_json`` if the response (optionally fenced) is not JSON,
    ``schema_mismatch`` if it does not satisfy ``schema``.

    Raises ``ValueError`` if ``schema`` itself is not a valid JSON Schema.
    """
    fence = _FENCE_RE.match(response)
    body, offset = (fence.group(1), fence.start(1)) if fence else (response, 0)
    # Prose is the common failure: reject it without paying for an exception.
    start = len(body) - len(body.lstrip(_JSON_SPACE))
    if body[start : start + 1] not in _JSON_STARTS:
        return [_invalid_json(response, body, offset, start, "Expecting value")]
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return [_invalid_json(response, body, offset, exc.pos, exc.msg)]
    if schema is None:
        return []
    error = best_match(_validator(_schema_key(schema)).iter_errors(data))
    if error is None:
        return []
    return [
        FormatIssue(
            "schema_mismatch",
            f"The JSON does not match the schema at {error.json_path}: {error.message}",
        )
    ]


def _invalid_json(response: str, body: str, offset: int, pos: int, msg: str) -> FormatIssue:
    # Line and column as the json module reports them, 1-based.
    line = body.count("\n", 0, pos) + 1
    column = pos - body.rfind("\n", 0, pos)
    at = min(offset + pos, len(response) - 1)
    return FormatIssue(
        "invalid_json",
        f"The response is not valid JSON: {msg} (line {line}, column {column}).",
        (Span(at, at + 1, "invalid_json"),) if response else (),
    )


def _schema_key(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=str)


@functools.lru_cache(maxsize=256)
def _validator(schema_key: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_key)
    validate_json_schema(schema)
    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_json_schema(schema: object) -> None:
    """Raise ``ValueError`` naming the problem if ``schema`` is not a valid JSON Schema."""
    if not isinstance(schema, dict | bool):
        raise ValueError(
            f"A JSON Schema must be an object or a boolean, not {type(schema).__name__}."
        )
    if isinstance(schema, dict) and "$schema" in schema:
        known = validator_for(schema, default=None)
        if known is None:
            raise ValueError(f"Unknown JSON Schema dialect in $schema: {schema['$schema']!r}.")
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"Invalid JSON Schema at {exc.json_path}: {exc.message}") from exc


DEFAULT_REFUSAL_PHRASES: tuple[str, ...] = (
    "I can't help with that",
    "I cannot help with that",
    "I can't help with this",
    "I can't assist",
    "I cannot assist",
    "I can't provide",
    "I cannot provide",
    "I can't comply",
    "I cannot comply",
    "I can't do that",
    "I won't be able to help",
    "I'm sorry, but I can't",
    "I'm sorry, but I cannot",
    "I am sorry, but I cannot",
    "I apologize, but I can't",
    "I apologize, but I cannot",
    "As an AI language model",
    "As an AI model",
    "I am unable to",
    "I'm unable to",
    "I'm not able to",
    "I must decline",
)


def check_refusal(response: str, phrases: Iterable[str] | None = None) -> list[FormatIssue]:
    """``refusal`` with one span per refusal phrase found (case-insensitive;
    typographic and straight apostrophes are interchangeable)."""
    scanner = compile_phrases(DEFAULT_REFUSAL_PHRASES if phrases is None else tuple(phrases))
    if scanner is None:
        return []
    spans = tuple(find_phrases(scanner, response, "refusal"))
    if not spans:
        return []
    first = response[spans[0].start : spans[0].end]
    return [FormatIssue("refusal", f"The response looks like a refusal: {first!r}.", spans)]


def check_truncated(metadata: Mapping[str, object]) -> list[FormatIssue]:
    """``truncated`` when the provider stopped on its token limit
    (OpenAI ``finish_reason == "length"``, Anthropic ``stop_reason == "max_tokens"``)."""
    if metadata.get("finish_reason") == "length" or metadata.get("stop_reason") == "max_tokens":
        return [FormatIssue("truncated", "The response was cut off at the token limit.")]
    return []


def check_language(response: str, expected: str) -> list[FormatIssue]:
    """``wrong_language`` when the response is confidently not in ``expected``
    (an ISO 639-1 code, region suffixes like ``en-US`` allowed)."""
    code = expected.strip().lower().replace("_", "-").split("-")[0]
    if not (code.isascii() and code.isalpha()):
        raise ValueError(f"Expected an ISO 639-1 language code, got {expected!r}.")
    detection = lang_detect.detect(response)
    if detection is None:
        return []
    if detection.script not in lang_detect.expected_scripts(code):
        return [
            FormatIssue(
                "wrong_language",
                f"Expected {code!r} but the response is in {detection.script} script.",
            )
        ]
    found = detection.language
    if found is None or found == code:
        return []
    # For Latin-script languages the detector has no stopwords for (say "sv"),
    # only flag text that is overwhelmingly one of the ones it knows.
    if code not in lang_detect.STOPWORD_LANGUAGES and detection.share < 0.25:
        return []
    return [
        FormatIssue("wrong_language", f"Expected {code!r} but the response looks like {found!r}.")
    ]


_NESTED_QUANTIFIER_RE = re.compile(r"\((?:[^()\\]|\\.)*[+*]\)[+*]")


def validate_regex(pattern: object) -> None:
    """Raise ``ValueError`` naming the problem if ``pattern`` is unusable as a check regex.

    Besides syntax errors it rejects patterns that match the empty string
    (they would flag every response) and, heuristically, directly nested
    quantifiers such as ``(a+)+``, which can backtrack for minutes on one
    response and stall the check pass.
    """
    if not isinstance(pattern, str):
        raise ValueError(f"A regular expression must be a string, not {type(pattern).__name__}.")
    if not pattern:
        raise ValueError("The regular expression is empty.")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise ValueError(f"Invalid regular expression: {exc.msg}{where}.") from exc
    if compiled.fullmatch(""):
        raise ValueError("The regular expression matches the empty string, so it matches anywhere.")
    if _NESTED_QUANTIFIER_RE.search(pattern):
        raise ValueError(
            "The regular expression nests quantifiers, like (a+)+, which can take "
            "exponential time on some inputs."
        )
