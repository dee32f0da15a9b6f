"""Detectors for structured numbers: phone, payment card, SSN, IBAN.

Phone, card and SSN numbers all hold a run of at least seven digits
(separators allowed), so one cheap scan finds those runs and those detectors
only look at windows around them. Checksums and the phonenumbers matcher
(about 50 µs a call, whatever the input length) run only on candidates that
survive a regex. ASCII text, nearly every response, first goes through
``bytes.translate`` gates that rule most of it out in about a microsecond.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn

from annotation.checks.detectors.spans import Span

Run = tuple[int, int]

# Seven or more ASCII digits, at most two phone/date punctuation marks apart.
_RUN_RE = re.compile(r"[0-9](?:[ .\-/()]{0,2}[0-9]){6,}")
_RUN_SEPARATORS = b" .-/()"
_DIGITS_ONLY = bytes(ord("0") if 48 <= b <= 57 else ord("x") for b in range(256))
# Context around a run: a card or SSN lies inside its run, but the greedy
# card regex may need to see a little past it.
_BEFORE = 4
_AFTER = 8

_CARD_RE = re.compile(r"[0-9](?<![0-9\-][0-9])(?:[ \-]?[0-9]){12,18}(?![0-9])")
_CARD_SEPARATOR_RE = re.compile(r"[ \-]")

_IBAN_RE = re.compile(
    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"
)
_IBAN_MIN_LEN = 15
# Gate: with uppercase letters as "A" and digits as "0", an IBAN starts "AA00".
_LETTERS_AND_DIGITS = bytes(
    ord("A") if 65 <= b <= 90 else ord("0") if 48 <= b <= 57 else 32 for b in range(256)
)

_SSN_RE = re.compile(r"[0-9](?<![0-9\-][0-9])[0-9]{2}-[0-9]{2}-[0-9]{4}(?![0-9\-])")

_PHONE_LEAD = 2  # a "+" or "(" before the digits
_PHONE_TRAIL = 16  # an extension after them: " ext. 1234"
_DATE_RE = re.compile(
    r"[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}|[0-9]{1,2}[\-/.][0-9]{1,2}[\-/.][0-9]{2,4}"
)


def digit_runs(text: str) -> list[Run]:
    """``(start, end)`` of every run of seven or more digits."""
    # Cheap gate for ASCII text: with digits as "0", run separators deleted
    # and everything else "x", any run leaves seven zeros in a row.
    if text.isascii() and b"0000000" not in text.encode("ascii").translate(
        _DIGITS_ONLY, _RUN_SEPARATORS
    ):
        return []
    return [m.span() for m in _RUN_RE.finditer(text)]


def context_windows(text: str, runs: list[Run]) -> list[Run]:
    """Merged windows around ``runs``, wide enough for any card or SSN in them."""
    return _windows(text, runs, _BEFORE, _AFTER)


def _windows(text: str, runs: list[Run], before: int, after: int) -> list[Run]:
    merged: list[Run] = []
    for start, end in runs:
        lo, hi = max(0, start - before), min(len(text), end + after)
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def find_phones(text: str, region: str, runs: list[Run] | None = None) -> list[Span]:
    """Valid phone numbers (``Leniency.VALID``), international or national to ``region``."""
    if runs is None:
        runs = digit_runs(text)
    region = region.upper()
    national = _national_digit_range(region)
    plausible = [run for run in runs if _plausible_phone(text, run, national)]
    spans: list[Span] = []
    for lo, hi in _windows(text, plausible, _PHONE_LEAD, _PHONE_TRAIL):
        matcher = phonenumbers.PhoneNumberMatcher(
            text[lo:hi], region, leniency=phonenumbers.Leniency.VALID
        )
        spans.extend(Span(lo + m.start, lo + m.end, "phone") for m in matcher)
    return spans


@functools.lru_cache(maxsize=32)
def _national_digit_range(region: str) -> range:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None:
        return range(0)
    lengths = metadata.general_desc.possible_length
    # Room for a trunk prefix ("0", "1") or an international call prefix
    # and country code ("011 44") written without a "+".
    return range(min(lengths), max(lengths) + 6)


def _plausible_phone(text: str, run: Run, national: range) -> bool:
    start, end = run
    candidate = text[start:end]
    if _DATE_RE.fullmatch(candidate):
        return False
    digits = sum(c.isdigit() for c in candidate)
    if "+" in text[max(0, start - _PHONE_LEAD) : start]:
        return 7 <= digits <= 17
    return digits in national


def find_payment_cards(text: str, windows: list[Run] | None = None) -> list[Span]:
    """Card numbers of a major network whose Luhn checksum holds."""
    if windows is None:
        windows = context_windows(text, digit_runs(text))
    spans: list[Span] = []
    for lo, hi in windows:
        for m in _CARD_RE.finditer(text, lo, hi):
            # The regex is greedy, so a trailing group (an expiry date, a CVV)
            # may be glued on: retry with whole groups dropped from the end.
            groups = _CARD_SEPARATOR_RE.split(m.group())
            end = m.end()
            while groups:
                digits = "".join(groups)
                if len(digits) < 13:
                    break
                if len(digits) <= 19 and _has_card_prefix(digits) and luhn.is_valid(digits):
                    spans.append(Span(m.start(), end, "payment_card"))
                    break
                end -= len(groups.pop()) + 1
    return spans


def _has_card_prefix(digits: str) -> bool:
    """Whether the number is in an issuer range of a major card network, at a length it issues."""
    n = len(digits)
    p1, p2, p3, p4 = int(digits[0]), int(digits[:2]), int(digits[:3]), int(digits[:4])
    if p1 == 4:  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if 2200 <= p4 <= 2204:  # Mir
        return n >= 16
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):  # Diners Club
        return n >= 14
    if 3528 <= p4 <= 3589:  # JCB
        return n >= 16
    if p2 == 50 or 56 <= p2 <= 69:  # Maestro, Discover, UnionPay, RuPay
        return n >= 12
    return False


def find_ibans(text: str) -> list[Span]:
    """IBANs, compact or in groups of four, whose mod-97 checksum holds."""
    if text.isascii() and b"AA00" not in text.encode("ascii").translate(_LETTERS_AND_DIGITS):
        return []
    spans: list[Span] = []
    for m in _IBAN_RE.finditer(text):
        # Uppercase words or numbers after an IBAN get swallowed by the
        # greedy regex: retry with space-separated groups dropped from the end.
        candidate = m.group()
        while len(candidate.replace(" ", "")) >= _IBAN_MIN_LEN:
            if stdnum_iban.is_valid(candidate):
                spans.append(Span(m.start(), m.start() + len(candidate), "iban"))
                break
            cut = candidate.rfind(" ")
            if cut == -1:
                break
            candidate = candidate[:cut]
    return spans


def find_ssns(text: str, windows: list[Run] | None = None) -> list[Span]:
    """US Social Security numbers written AAA-GG-SSSS that the SSA could issue."""
    if windows is None:
        windows = context_windows(text, digit_runs(text))
    return [
        Span(m.start(), m.end(), "ssn")
        for lo, hi in windows
        for m in _SSN_RE.finditer(text, lo, hi)
        if stdnum_ssn.is_valid(m.group())
    ]
