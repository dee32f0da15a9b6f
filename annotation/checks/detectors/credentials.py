"""Detector for credentials: provider API keys, bearer tokens, JWTs, PEM private keys.

Every pattern starts with a literal (or a two-letter class) and checks the
character before it with a lookbehind placed *after* that literal: a leading
lookbehind would stop the regex engine from skipping ahead to the literal, and
make each scan of ordinary prose several times slower.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from annotation.checks.detectors.spans import Span

_TOKEN_CHARS = r"A-Za-z0-9_\-"


def _token(prefix: str, prefix_len: int, body: str, boundary: str = _TOKEN_CHARS) -> str:
    return f"{prefix}(?<![{boundary}][\\s\\S]{{{prefix_len}}}){body}(?![{boundary}])"


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    # Random tokens contain digits; hyphenated English words do not.
    needs_digit: bool = False
    # A plain substring test is about three times cheaper than a regex
    # search that finds nothing, and nearly every response finds nothing.
    needles: tuple[str, ...] = ()


_RULES: tuple[_Rule, ...] = (
    # OpenAI (sk-..., sk-proj-..., sk-svcacct-...) and Anthropic (sk-ant-api03-...).
    _Rule(re.compile(_token("sk-", 3, r"[A-Za-z0-9_\-]{20,}")), True, ("sk-",)),
    # AWS access key ids: long-term (AKIA) and temporary (ASIA).
    _Rule(re.compile(_token("A[KS]IA", 4, r"[A-Z0-9]{16}", "A-Za-z0-9")), False, ("AKIA", "ASIA")),
    _Rule(re.compile(_token("gh[pousr]_", 4, r"[A-Za-z0-9]{36,}", "A-Za-z0-9_"))),
    _Rule(
        re.compile(_token("github_pat_", 11, r"[A-Za-z0-9_]{22,}", "A-Za-z0-9_")),
        needles=("github_pat_",),
    ),
    _Rule(re.compile(_token("xox[bpars]-", 5, r"[A-Za-z0-9\-]{10,}")), True, ("xox",)),
    _Rule(
        re.compile(_token("sk_(?:live|test)_", 8, r"[A-Za-z0-9]{16,}", "A-Za-z0-9_")),
        needles=("sk_",),
    ),
    _Rule(
        re.compile(_token("rk_(?:live|test)_", 8, r"[A-Za-z0-9]{16,}", "A-Za-z0-9_")),
        needles=("rk_",),
    ),
    _Rule(re.compile(_token("AIza", 4, r"[A-Za-z0-9_\-]{35}")), needles=("AIza",)),
    _Rule(
        re.compile(
            r"(?:Bearer|bearer|BEARER)(?<![A-Za-z0-9_\-][\s\S]{6})[ \t]+[A-Za-z0-9\-._~+/]{16,}=*"
        ),
        True,
        ("Bearer", "bearer", "BEARER"),
    ),
    # A JWT header is base64url JSON, so it starts with "eyJ" ('{"').
    _Rule(
        re.compile(
            r"eyJ(?<![A-Za-z0-9_\-.][\s\S]{3})"
            r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*(?![A-Za-z0-9_\-])"
        ),
        needles=("eyJ",),
    ),
    # A PEM block cut off before its END line (a truncated response) still
    # leaks the key: then the span covers the header and whole base64 lines.
    _Rule(
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
            r"|(?:\r?\n[A-Za-z0-9+/=]+(?=\r?\n|\Z))*)"
        ),
        needles=("-----BEGIN",),
    ),
)

_DIGIT_RE = re.compile(r"[0-9]")


def find_secrets(text: str) -> list[Span]:
    spans: list[Span] = []
    for rule in _RULES:
        if rule.needles and not any(needle in text for needle in rule.needles):
            continue
        for m in rule.pattern.finditer(text):
            if rule.needs_digit and not _DIGIT_RE.search(m.group()):
                continue
            spans.append(Span(m.start(), m.end(), "secret"))
    return spans
