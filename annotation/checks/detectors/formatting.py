"""Format checks on a model response, and validators for check configurations.

Every ``check_*`` function returns a list of ``FormatIssue``; empty means
the response passed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for
from referencing import Registry
from referencing.exceptions import Unresolvable

from annotation.checks.detectors import language as lang_detect
from annotation.checks.detectors.linear_regex import compile_linear, search
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
    try:
        error = best_match(_validator(_schema_key(schema)).iter_errors(data))
    except Unresolvable as exc:
        # A schema saved before outside references were refused: say so, never crash the pass.
        return [FormatIssue("schema_unusable", f"The JSON Schema cannot be used: {exc}.")]
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
    cls = _linear_validator(validator_for(schema))
    # An empty registry: a $ref is never fetched from the network by a worker.
    return cls(schema, format_checker=cls.FORMAT_CHECKER, registry=Registry())


# Keywords whose value is data, not a schema: a "pattern" key inside them is not a regex.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})


def _patterns(node: object, path: str) -> Iterator[tuple[str, str]]:
    """(where, regex) of every `pattern` and `patternProperties` key in a schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _DATA_KEYWORDS:
                continue
            where = f"{path}.{key}"
            if key == "pattern" and isinstance(value, str):
                yield where, value
            if key == "patternProperties" and isinstance(value, dict):
                yield from ((f"{where}[{p!r}]", p) for p in value)
            yield from _patterns(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _patterns(value, f"{path}[{index}]")


def _refs(node: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _DATA_KEYWORDS:
                continue
            if key in ("$ref", "$dynamicRef", "$recursiveRef") and isinstance(value, str):
                yield f"{path}.{key}", value
            yield from _refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{path}[{index}]")


def _uses(node: object, keyword: str) -> bool:
    if isinstance(node, dict):
        return keyword in node or any(
            _uses(v, keyword) for k, v in node.items() if k not in _DATA_KEYWORDS
        )
    return isinstance(node, list) and any(_uses(v, keyword) for v in node)


def validate_json_schema(schema: object) -> None:
    """Raise ``ValueError`` naming the problem if ``schema`` is not a valid JSON Schema.

    Its ``pattern`` and ``patternProperties`` regexes must compile on RE2, which validation
    runs them on.
    """
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
    for where, pattern in _patterns(schema, "$"):
        try:
            compile_linear(pattern)
        except ValueError as exc:
            raise ValueError(f"Invalid JSON Schema at {where}: {exc}") from None
    for where, ref in _refs(schema, "$"):
        if not ref.startswith("#"):
            raise ValueError(
                f"Invalid JSON Schema at {where}: {ref!r} points outside this schema; only "
                "references within it (starting with #) are followed."
            )
    if _uses(schema, "patternProperties") and _uses(schema, "unevaluatedProperties"):
        # jsonschema evaluates patternProperties for unevaluatedProperties with Python's own
        # engine, which can backtrack; the two together are refused rather than run on it.
        raise ValueError(
            "Invalid JSON Schema: patternProperties cannot be combined with "
            "unevaluatedProperties here; use additionalProperties instead."
        )


# JSON Schema's regex keywords, on RE2 instead of Python's backtracking engine.
def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and search(pattern, instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, properties: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in properties.items():
        for key, value in instance.items():
            if search(pattern, key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        key
        for key in instance
        if key not in properties and not any(search(p, key) is not None for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        joined = ", ".join(repr(each) for each in sorted(extras))
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield jsonschema.ValidationError(
                f"{joined} {verb} not match any of the regexes: {listed}"
            )
        else:
            yield jsonschema.ValidationError(
                f"Additional properties are not allowed ({joined} "
                f"{'was' if len(extras) == 1 else 'were'} unexpected)"
            )


@functools.cache
def _linear_validator(cls: Any) -> Any:
    return jsonschema.validators.extend(
        cls,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )


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


def validate_regex(pattern: object) -> None:
    """Raise ``ValueError`` naming the problem if ``pattern`` is unusable as a check regex.

    Patterns run on RE2 (``linear_regex``), so none can stall a worker; those RE2 cannot run
    (backreferences, lookaround), longer than ``MAX_PATTERN_CHARS``, or matching the empty
    string (they would flag every response) are refused.
    """
    if not isinstance(pattern, str):
        raise ValueError(f"A regular expression must be a string, not {type(pattern).__name__}.")
    if not pattern:
        raise ValueError("The regular expression is empty.")
    compiled = compile_linear(pattern)
    if compiled.fullmatch("") is not None:
        raise ValueError("The regular expression matches the empty string, so it matches anywhere.")
