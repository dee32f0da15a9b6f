"""JSON that is safe to store: bounded nesting, and no text PostgreSQL or UTF-8 cannot hold.

Every JSON body the API reads and every JSON text a form takes goes through `json_loads_safe`
(or, for msgspec's ingestion path, `json_problem` on what it decoded), so one walk decides what
"too deep" and "unstorable text" mean everywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_JSON_DEPTH = 64

# A NUL (PostgreSQL text and jsonb cannot store it) or a UTF-16 surrogate: JSON decoders combine
# a valid pair into one code point, so any surrogate left in a decoded string stands alone and
# cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class JsonProblem:
    code: str
    field: str
    message: str

    def details(self) -> dict[str, Any]:
        return {"field": self.field}


class UnsafeJson(ValueError):
    """The JSON parsed but must not be stored; `problem` names the field."""

    def __init__(self, problem: JsonProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def printable(text: str) -> str:
    """`text` with NULs and lone surrogates spelled as escapes, safe to echo in an error."""
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored; remove it"
    return (
        f"contains a lone UTF-16 surrogate (\\u{ord(found.group()):04x}), which is not text; "
        "send the character itself or a complete surrogate pair"
    )


def _too_deep(field: str, max_depth: int) -> JsonProblem:
    return JsonProblem(
        "too_deep",
        field,
        f"JSON is nested more than {max_depth} levels deep"
        + (f" at `{field}`" if field else "")
        + "; flatten it.",
    )


def json_problem(
    value: Any, *, max_depth: int = MAX_JSON_DEPTH, path: str = "", depth: int = 0
) -> JsonProblem | None:
    """The first problem in a decoded JSON value: nesting past `max_depth`, or unstorable text.

    Iterative, so a value nested deeper than Python's recursion limit is measured, not crashed on.
    Keys are checked as well as values; the field is a dotted path (`values.comment`, `items[2]`).
    `depth` is how deep `value` itself sits (1 for a field of the top-level object).
    """
    # Paths are kept as (parent, key) links and spelled out only for the field reported.
    Link = tuple[Any, str | int] | None
    stack: list[tuple[Any, Link, int]] = [(value, None, depth)]
    while stack:
        node, link, depth = stack.pop()
        if isinstance(node, str):
            if _UNSTORABLE.search(node) is not None:
                where = _spell(path, link)
                return JsonProblem("invalid_text", where, f"`{where or '$'}` {text_problem(node)}.")
        elif isinstance(node, dict):
            if depth >= max_depth:
                return _too_deep(_spell(path, link), max_depth)
            for key, item in reversed(node.items()):
                if isinstance(key, str) and _UNSTORABLE.search(key) is not None:
                    child = _spell(path, (link, key))
                    return JsonProblem(
                        "invalid_text", child, f"The key at `{child}` {text_problem(key)}."
                    )
                stack.append((item, (link, str(key)), depth + 1))
        elif isinstance(node, list):
            if depth >= max_depth:
                return _too_deep(_spell(path, link), max_depth)
            stack.extend(
                (node[index], (link, index), depth + 1) for index in range(len(node) - 1, -1, -1)
            )
    return None


def _spell(path: str, link: Any) -> str:
    """`values.comment`, `items[2].text`: the dotted path a (parent, key) chain stands for."""
    parts: list[str | int] = []
    while link is not None:
        link, part = link
        parts.append(part)
    where = path
    for part in reversed(parts):
        if isinstance(part, int):
            where = f"{where}[{part}]"
        else:
            where = f"{where}.{printable(part)}" if where else printable(part)
    return where


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send a number or null")


# Python turns at most 4,300 digits into an int (and back into text); a longer one would make the
# whole body a parse error that names no field. It is kept as a marker and named by the walk.
MAX_INT_DIGITS = 4300


@dataclass(frozen=True, slots=True)
class _LongWholeNumber:
    digits: int


def _number_problem(value: Any, *, path: str = "") -> JsonProblem | None:
    """The first whole number too long to be an int (kept as a marker by `json_loads_safe`)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _LongWholeNumber):
            return JsonProblem(
                "invalid_number",
                where,
                f"`{where or '$'}` is a whole number of {node.digits:,} digits; send a number "
                f"of at most {MAX_INT_DIGITS:,} digits.",
            )
        if isinstance(node, dict):
            stack.extend(
                (item, f"{where}.{printable(str(key))}" if where else printable(str(key)))
                for key, item in reversed(node.items())
            )
        elif isinstance(node, list):
            stack.extend((node[i], f"{where}[{i}]") for i in range(len(node) - 1, -1, -1))
    return None


def json_loads_safe(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses NaN/Infinity, deep nesting and unstorable text.

    Raises `json.JSONDecodeError` (malformed), `ValueError` (NaN) or `UnsafeJson` (with the
    field it names).
    """
    long_numbers = []

    def whole_number(digits: str) -> int | _LongWholeNumber:
        if len(digits) <= MAX_INT_DIGITS:
            return int(digits)
        long_numbers.append(_LongWholeNumber(len(digits.lstrip("-"))))
        return long_numbers[-1]

    try:
        value = json.loads(text, parse_constant=_strict_constant, parse_int=whole_number)
    except RecursionError:
        # Deeper than the interpreter can even parse: certainly past the limit.
        raise UnsafeJson(_too_deep("", max_depth)) from None
    problem = json_problem(value, max_depth=max_depth)
    if problem is None and long_numbers:
        problem = _number_problem(value)
    if problem is not None:
        raise UnsafeJson(problem)
    return value
