"""Detector for credentials: provider API keys, bearer tokens, JWTs, PEM private keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from annotation.checks.detectors.spans import Span


@dataclass(frozen=True, slots=True)
class _Rule:
    # The regex only runs when one of these substrings is present: a C-speed
    # `in` test is far cheaper than a regex scan whose first character class
    # ("s", "e", "A", ...) matches all over ordinary prose.
    needles: tuple[str, ...]
    pattern: re.Pattern[str]
    # Random tokens contain digits; hyphenated English words do not.
    needs_digit: bool = False


_NOT_TOKEN_BEFORE = r"(?<![A-Za-z0-9_\-])"
_NOT_TOKEN_AFTER = r"(?![A-Za-z0-9_\-])"

_RULES: tuple[_Rule, ...] = (
    # OpenAI (sk-..., sk-proj-..., sk-svcacct-...) and Anthropic (sk-ant-...).
    _Rule(
        ("sk-",),
        re.compile(_NOT_TOKEN_BEFORE + r"sk-[A-Za-z0-9_\-]{20,}" + _NOT_TOKEN_AFTER),
        needs_digit=True,
    ),
    _Rule(
        ("AKIA", "ASIA"),
        re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ),
    _Rule(
        ("gh",),
        re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])"),
    ),
    _Rule(
        ("github_pat_",),
        re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}(?![A-Za-z0-9_])"),
    ),
    _Rule(
        ("xox",),
        re.compile(_NOT_TOKEN_BEFORE + r"xox[bpars]-[A-Za-z0-9\-]{10,}" + _NOT_TOKEN_AFTER),
        needs_digit=True,
    ),
    _Rule(
        ("_live_", "_test_"),
        re.compile(r"(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[A-Za-z0-9]{16,}(?![A-Za-z0-9_])"),
    ),
    _Rule(
        ("AIza",),
        re.compile(r"(?<![A-Za-z0-9_\-])AIza[A-Za-z0-9_\-]{35}(?![A-Za-z0-9_\-])"),
    ),
    _Rule(
        ("Bearer", "bearer", "BEARER"),
        re.compile(r"(?<![A-Za-z0-9_\-])(?i:bearer)[ \t]+[A-Za-z0-9\-._~+/]{16,}=*"),
        needs_digit=True,
    ),
    # A JWT header is base64url JSON, so it starts with "eyJ" ('{"').
    _Rule(
        ("eyJ",),
        re.compile(
            _NOT_TOKEN_BEFORE
            + r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"
            + r"(?![A-Za-z0-9_\-.])"
        ),
    ),
    # A PEM block cut off before its END line (a truncated response) still
    # leaks the key: then the span covers the header and whole base64 lines.
    _Rule(
        ("-----BEGIN",),
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"|(?:\r?\n[A-Za-z0-9+/=]+(?=\r?\n|\Z))*)"
        ),
    ),
)

_DIGIT_RE = re.compile(r"\d")


def find_secrets(text: str) -> list[Span]:
    spans: list[Span] = []
    for rule in _RULES:
        if not any(needle in text for needle in rule.needles):
            continue
        for m in rule.pattern.finditer(text):
            if rule.needs_digit and not _DIGIT_RE.search(m.group()):
                continue
            spans.append(Span(m.start(), m.end(), "secret"))
    return spans
