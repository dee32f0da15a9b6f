"""Detectors for checksummed or structured numbers: phone, payment card, IBAN, SSN.

Each detector finds cheap regex candidates first and only then calls the
(comparatively slow) validating library, so prose without such numbers costs
one or two regex scans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn

from annotation.checks.detectors.spans import Span

# At least 7 digits, each pair separated by at most two phone punctuation marks.
# Anything shorter cannot be a valid number in any region, so the phonenumbers
# matcher (about 70 µs on 800 chars) only runs around these runs.
_PHONE_RUN_RE = re.compile(r"\+?\d(?:[ \t().\-/]{0,2}\d){6,}")
# Context kept around a run so the matcher still sees a leading "+" or letter
# and a trailing extension ("ext. 1234").
_PHONE_LEAD = 2
_PHONE_TRAIL = 16

_CARD_RE = re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?!\d)")
_CARD_GROUP_SPLIT_RE = re.compile(r"[ \-]")

_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_IBAN_MIN_LEN = 15

_SSN_RE = re.compile(r"(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-])")


def find_phones(text: str, region: str) -> list[Span]:
    windows = _merge_windows(
        (max(0, m.start() - _PHONE_LEAD), min(len(text), m.end() + _PHONE_TRAIL))
        for m in _PHONE_RUN_RE.finditer(text)
    )
    spans: list[Span] = []
    for lo, hi in windows:
        matcher = phonenumbers.PhoneNumberMatcher(
            text[lo:hi], region, leniency=phonenumbers.Leniency.VALID
        )
        spans.extend(Span(lo + m.start, lo + m.end, "phone") for m in matcher)
    return spans


def _merge_windows(windows: Iterator[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in windows:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def find_payment_cards(text: str) -> list[Span]:
    spans: list[Span] = []
    for m in _CARD_RE.finditer(text):
        # The regex is greedy, so a trailing group (an expiry date, a CVV) may
        # be glued on: retry with whole groups dropped from the end.
        groups = _CARD_GROUP_SPLIT_RE.split(m.group())
        end = m.end()
        while groups:
            digits = "".join(groups)
            if len(digits) < 13:
                break
            if len(digits) <= 19 and _is_card_number(digits):
                spans.append(Span(m.start(), end, "payment_card"))
                break
            end -= len(groups.pop()) + 1
    return spans


def _is_card_number(digits: str) -> bool:
    return _has_card_prefix(digits) and luhn.is_valid(digits)


def _has_card_prefix(digits: str) -> bool:
    """Whether the number starts with an issuer range of a major card network."""
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
    spans: list[Span] = []
    for m in _IBAN_RE.finditer(text):
        # Uppercase words or numbers after an IBAN get swallowed by the greedy
        # regex: retry with space-separated groups dropped from the end.
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


def find_ssns(text: str) -> list[Span]:
    return [
        Span(m.start(), m.end(), "ssn")
        for m in _SSN_RE.finditer(text)
        if stdnum_ssn.is_valid(m.group())
    ]
