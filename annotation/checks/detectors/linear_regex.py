"""Lead-supplied regular expressions, run on RE2: time linear in the text, whatever the pattern.

Python's own engine backtracks: ``((a+))+x`` on 27 characters of ``a`` held a checks worker for
ten seconds, and each two more characters quadruple that. RE2 (``google-re2``) never backtracks,
so a pattern a lead saves can cost no more than a scan of the text. It has no backreferences and
no lookaround; such patterns are refused when the check is saved, with the reason.

Differences worth knowing: ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII-only, and end of text
is ``\\z`` (or ``$`` without the ``m`` flag), not ``\\Z``.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

MAX_PATTERN_CHARS = 1000


class LinearPattern(Protocol):
    pattern: str

    def search(self, text: str) -> Any: ...

    def fullmatch(self, text: str) -> Any: ...


_UNSUPPORTED = (
    ("(?=", "lookahead"),
    ("(?!", "lookahead"),
    ("(?<=", "lookbehind"),
    ("(?<!", "lookbehind"),
)


def _why(pattern: str, reason: str) -> str:
    for marker, name in _UNSUPPORTED:
        if marker in reason:
            return f"{name} is not supported"
    if "(?P=" in pattern and "(?P" in reason:
        return "named backreferences are not supported"
    if reason.startswith("invalid escape sequence: \\") and reason[-1:].isdigit():
        return "backreferences are not supported"
    if reason.startswith("invalid escape sequence: \\Z"):
        return "\\Z is not supported; use \\z for the end of the text"
    return reason


def compile_linear(pattern: str) -> LinearPattern:
    """Compile ``pattern`` for RE2; raise ``ValueError`` saying why it cannot be used."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(
            f"The regular expression is {len(pattern)} characters long; the limit is "
            f"{MAX_PATTERN_CHARS}."
        )
    return _compile(pattern)


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> LinearPattern:
    # RE2 loads with the first pattern compiled (a checks worker, or saving a check), not in
    # every web process.
    import re2

    options = re2.Options()
    # Refusals are reported to the lead; RE2 logging them to stderr as well would be noise.
    options.log_errors = False
    try:
        compiled: LinearPattern = re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        reason = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise ValueError(
            f"Invalid regular expression for RE2, the linear-time engine checks run on: "
            f"{_why(pattern, reason)} ({reason})."
        ) from None
    return compiled


def search(pattern: str, text: str) -> tuple[int, int] | None:
    """Offsets (into ``text``, in characters) of the first match of ``pattern``, or None."""
    match = compile_linear(pattern).search(text)
    return None if match is None else (match.start(), match.end())
