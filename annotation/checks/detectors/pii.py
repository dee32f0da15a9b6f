"""Find personal data and credentials in text: ``find_pii``."""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Collection

from annotation.checks.detectors.credentials import find_secrets
from annotation.checks.detectors.numbers import (
    context_windows,
    digit_runs,
    find_ibans,
    find_payment_cards,
    find_phones,
    find_ssns,
)
from annotation.checks.detectors.spans import Span

PII_KINDS: tuple[str, ...] = (
    "secret",
    "email",
    "iban",
    "payment_card",
    "ssn",
    "ip_address",
    "phone",
)
# When two findings overlap, the longer wins; on equal length, the kind listed
# first in PII_KINDS wins (a secret is worse than anything it contains).
_PRIORITY = {kind: rank for rank, kind in enumerate(PII_KINDS)}

# Linear-time: the local part cannot start with ".", and every repetition of
# the domain group must consume a "." so the groups cannot trade characters.
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9_%+\-](?<![A-Za-z0-9._%+\-][A-Za-z0-9_%+\-])[A-Za-z0-9._%+\-]{0,63}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,63}(?![A-Za-z0-9\-])"
)
# Each pattern starts with a character class and checks what precedes it with
# a lookbehind placed after that class, so the regex engine can skip quickly
# to candidate characters. "(?!\.[0-9])" rejects the first four parts of a
# longer dotted version string.
_IPV4_RE = re.compile(
    r"[0-9](?<![\w.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![\w]|\.[0-9])"
)
_DIGITS_AND_DOTS = bytes(
    ord("0") if 48 <= b <= 57 else b if b == ord(".") else 32 for b in range(256)
)
_IPV6_HINT_RE = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6_RE = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![\w:]|\.[0-9])"
)
_HEX_RE = re.compile(r"[0-9A-Fa-f]")


def find_pii(
    text: str,
    *,
    kinds: Collection[str] | None = None,
    default_region: str = "US",
) -> list[Span]:
    """Return non-overlapping PII spans in ``text``, sorted by start.

    ``kinds`` restricts the search to a subset of ``PII_KINDS``;
    ``default_region`` is the ISO 3166 region used to read phone numbers
    written without a "+" country code.
    """
    wanted: Collection[str] = PII_KINDS
    if kinds is not None:
        wanted = frozenset(kinds)
        unknown = wanted - _PRIORITY.keys()
        if unknown:
            raise ValueError(f"unknown PII kinds: {', '.join(sorted(unknown))}")

    candidates: list[Span] = []
    if "secret" in wanted:
        candidates += find_secrets(text)
    if "email" in wanted:
        candidates += find_emails(text)
    if "ip_address" in wanted:
        candidates += find_ip_addresses(text)
    if "iban" in wanted:
        candidates += find_ibans(text)
    runs = digit_runs(text)
    if runs:
        windows = context_windows(text, runs)
        if "payment_card" in wanted:
            candidates += find_payment_cards(text, windows)
        if "ssn" in wanted:
            candidates += find_ssns(text, windows)
        if "phone" in wanted:
            candidates += find_phones(text, default_region, runs)
    return _resolve_overlaps(candidates)


def _resolve_overlaps(spans: list[Span]) -> list[Span]:
    if len(spans) < 2:
        return spans
    spans.sort(key=lambda s: (s.start - s.end, _PRIORITY[s.kind], s.start))
    # Kept spans never overlap, so sorted by start their ends are sorted too,
    # and a new span can only collide with the last kept one starting before its end.
    starts: list[int] = []
    kept: list[Span] = []
    for span in spans:
        i = bisect.bisect_left(starts, span.end)
        if i and kept[i - 1].end > span.start:
            continue
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept


def find_emails(text: str) -> list[Span]:
    if "@" not in text:
        return []
    return [Span(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text)]


def find_ip_addresses(text: str) -> list[Span]:
    spans: list[Span] = []
    # Cheap gate for ASCII text: with digits as "0" and all but dots blanked,
    # any dotted quad contains "0.0" at least twice.
    if not text.isascii() or text.encode("ascii").translate(_DIGITS_AND_DOTS).count(b"0.0") >= 2:
        for m in _IPV4_RE.finditer(text):
            if _is_ip(m.group(), ipaddress.IPv4Address):
                spans.append(Span(m.start(), m.end(), "ip_address"))
    if _IPV6_HINT_RE.search(text):
        for m in _IPV6_RE.finditer(text):
            candidate = m.group()
            # "::" alone is a valid address but in prose it is punctuation.
            if _HEX_RE.search(candidate) and _is_ip(candidate, ipaddress.IPv6Address):
                spans.append(Span(m.start(), m.end(), "ip_address"))
    return spans


def _is_ip(candidate: str, cls: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        cls(candidate)
    except ValueError:
        return False
    return True
