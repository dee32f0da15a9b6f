"""Detector for credentials: provider API keys, bearer tokens, JWTs, PEM private keys.

Nearly every response holds no credential, so the cost that matters is
proving that. Each rule has a substring that every match contains ("sk-",
"eyJ", ...) and is skipped when it is absent, and rules whose substrings share
a rare character ("_") are skipped together when that character is absent:
a substring test is a fraction of the cost of even a failing regex search.
Every regex starts with a literal and checks the character before it with a
lookbehind placed *after* that literal, so the engine can jump to the literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from annotation.checks.detectors.spans import Span

_KEY_CHARS = r"A-Za-z0-9_\-"


def _token(prefix: str, prefix_len: int, body: str, boundary: str = _KEY_CHARS) -> str:
    return f"{prefix}(?<![{boundary}][\\s\\S]{{{prefix_len}}}){body}(?![{boundary}])"


@dataclass(frozen=True, slots=True)
class _Rule:
    needle: str  # every match contains it
    pattern: re.Pattern[str]
    # Random tokens contain digits; hyphenated English words do not.
    needs_digit: bool = False


# PEM private keys also contain "-": see _find_private_keys.
_DASH_RULES: tuple[_Rule, ...] = (
    # OpenAI (sk-..., sk-proj-..., sk-svcacct-...) and Anthropic (sk-ant-api03-...).
    _Rule("sk-", re.compile(_token("sk-", 3, r"[A-Za-z0-9_\-]{20,}")), needs_digit=True),
    # Slack bot, user, app-level, refresh and legacy tokens.
    _Rule("xox", re.compile(_token("xox[bpars]-", 5, r"[A-Za-z0-9\-]{10,}")), needs_digit=True),
)
_UNDERSCORE_RULES: tuple[_Rule, ...] = (
    # GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens.
    _Rule("_", re.compile(_token("gh[pousr]_", 4, r"[A-Za-z0-9]{36,}", "A-Za-z0-9_"))),
    _Rule(
        "github_pat_",
        re.compile(_token("github_pat_", 11, r"[A-Za-z0-9_]{22,}", "A-Za-z0-9_")),
    ),
    # Stripe secret and restricted keys.
    _Rule("k_", re.compile(_token("[sr]k_(?:live|test)_", 8, r"[A-Za-z0-9]{16,}", "A-Za-z0-9_"))),
)
_OTHER_RULES: tuple[_Rule, ...] = (
    # AWS access key ids: long-term (AKIA) and temporary (ASIA).
    _Rule("IA", re.compile(_token("A[KS]IA", 4, r"[A-Z0-9]{16}", "A-Za-z0-9"))),
    _Rule("AIza", re.compile(_token("AIza", 4, r"[A-Za-z0-9_\-]{35}"))),  # Google API key
    _Rule(
        "earer",
        re.compile(
            r"(?:Bearer|bearer|BEARER)(?<![A-Za-z0-9_\-][\s\S]{6})"
            r"[ \t]+[A-Za-z0-9\-._~+/]{16,}=*"
        ),
        needs_digit=True,
    ),
    # A JWT header is base64url JSON, so it starts with "eyJ" ('{"').
    _Rule(
        "eyJ",
        re.compile(
            r"eyJ(?<![A-Za-z0-9_\-.][\s\S]{3})"
            r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*(?![A-Za-z0-9_\-])"
        ),
    ),
)
_DIGIT_RE = re.compile(r"[0-9]")

_PEM_BEGIN_RE = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_PEM_END_RE = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")
# The base64 lines after a BEGIN line whose END line never came.
_PEM_BODY_RE = re.compile(r"(?:\r?\n[A-Za-z0-9+/=]+(?=\r?\n|\Z))*")


def find_secrets(text: str) -> list[Span]:
    spans: list[Span] = []
    _apply(text, _OTHER_RULES, spans)
    if "-" in text:
        _apply(text, _DASH_RULES, spans)
        if "-----BEGIN" in text:
            _find_private_keys(text, spans)
    if "_" in text:
        _apply(text, _UNDERSCORE_RULES, spans)
    return spans


def _apply(text: str, rules: tuple[_Rule, ...], spans: list[Span]) -> None:
    for rule in rules:
        if rule.needle not in text:
            continue
        for m in rule.pattern.finditer(text):
            if rule.needs_digit and not _DIGIT_RE.search(m.group()):
                continue
            spans.append(Span(m.start(), m.end(), "secret"))


def _find_private_keys(text: str, spans: list[Span]) -> None:
    """PEM private key blocks, from BEGIN line to END line.

    A block cut off before its END line (a truncated response) still leaks
    the key: then the span runs over the base64 lines after the BEGIN line.
    BEGIN and END lines are paired in one forward pass, so text repeating
    BEGIN lines without END lines stays linear.
    """
    begins = list(_PEM_BEGIN_RE.finditer(text))
    ends = iter(_PEM_END_RE.finditer(text))
    end = next(ends, None)
    for i, begin in enumerate(begins):
        while end is not None and end.start() < begin.end():
            end = next(ends, None)
        next_begin = begins[i + 1].start() if i + 1 < len(begins) else len(text)
        if end is not None and end.end() <= next_begin:
            spans.append(Span(begin.start(), end.end(), "secret"))
        else:
            body = _PEM_BODY_RE.match(text, begin.end())
            spans.append(Span(begin.start(), body.end() if body else begin.end(), "secret"))
