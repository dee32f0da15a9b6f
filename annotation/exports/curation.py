"""Curation steps applied to each row of an export: duplicate keys, splits, PII redaction."""

from __future__ import annotations

import functools
import hashlib
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import msgspec

from annotation.checks.detectors import Span, find_pii

Part = Literal["train", "validation"]

PLACEHOLDERS: Mapping[str, str] = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "payment_card": "[PAYMENT_CARD]",
    "iban": "[IBAN]",
    "ssn": "[SSN]",
    "ip_address": "[IP_ADDRESS]",
    "secret": "[SECRET]",
}

_canonical = msgspec.json.Encoder(order="sorted")


# --- exact duplicates --------------------------------------------------------------


def prompt_key(messages: Iterable[Mapping[str, Any]]) -> str:
    """Hex sha256 of the prompt turns as canonical JSON (only role and content, sorted keys).

    Two prompts get the same key exactly when every turn has the same role and the same
    content, character for character.
    """
    turns = [{"role": m.get("role"), "content": m.get("content")} for m in messages]
    return hashlib.sha256(_canonical.encode(turns)).hexdigest()


class DuplicateFilter:
    """Remembers prompt keys seen so far in an export; the first row of each prompt wins.

    Each key is kept as a 63-bit fingerprint (its first 16 hex digits) in an open-addressing
    table of unsigned 64-bit integers, at most half full: 8-16 bytes per distinct prompt,
    16 MB for 1,000,000 of them (a dict of bytes took ~100 bytes each and made an
    export's memory grow with its size). Size it with ``expected`` (the rows the export
    will read) and the table is allocated once, so memory stays flat while the export
    runs; it doubles when more keys arrive. Two distinct prompts share a fingerprint with
    odds of about n²/2^64: 1 in 18 million for 1,000,000 prompts, when a row would be
    dropped as a duplicate it is not. Past ~10 million rows, collapse duplicates in SQL
    instead (``DISTINCT ON`` an indexed prompt hash column).
    """

    __slots__ = ("_count", "_limit", "_mask", "_seen")

    def __init__(self, expected: int = 0) -> None:
        size = 1 << max(16, (2 * max(expected, 1) - 1).bit_length())
        self._allocate(size)
        self._count = 0

    def _allocate(self, size: int) -> None:
        # An array of numbers is neither tracked by the garbage collector nor made of
        # Python objects: the collector has nothing to walk however many keys there are.
        self._seen = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._limit = size // 2

    def add(self, key: str) -> bool:
        """Record ``key``; True when it is new, False for a duplicate."""
        fingerprint = int(key[:16], 16) | 1  # never 0, which marks a free slot
        seen, mask = self._seen, self._mask
        slot = fingerprint & mask
        while True:
            found = seen[slot]
            if found == fingerprint:
                return False
            if not found:
                seen[slot] = fingerprint
                self._count += 1
                if self._count > self._limit:
                    self._grow()
                return True
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old = self._seen
        self._allocate(2 * len(old))
        seen, mask = self._seen, self._mask
        for fingerprint in old:
            if fingerprint:
                slot = fingerprint & mask
                while seen[slot]:
                    slot = (slot + 1) & mask
                seen[slot] = fingerprint

    def __len__(self) -> int:
        return self._count


# --- train / validation split ------------------------------------------------------


def split_for(key: str, *, validation: float, seed: int) -> Part:
    """Put a row in "train" or "validation", the same way on every run with the same seed.

    Hashing the row's prompt key keeps every copy of a prompt in one part, so the
    validation set never holds a prompt that training saw.
    """
    if not 0.0 <= validation <= 1.0:
        raise ValueError(f"validation must be a fraction between 0 and 1, got {validation}")
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    # 53 bits: a float in [0, 1) without rounding up to 1.0.
    position = (int.from_bytes(digest[:8], "big") >> 11) / (1 << 53)
    return "validation" if position < validation else "train"


# --- PII redaction -----------------------------------------------------------------


def _replace_spans(text: str, spans: Sequence[Span]) -> tuple[str, Counter[str]]:
    pieces: list[str] = []
    replaced: Counter[str] = Counter()
    end = 0
    for span in spans:
        pieces.append(text[end : span.start])
        pieces.append(PLACEHOLDERS.get(span.kind, f"[{span.kind.upper()}]"))
        replaced[span.kind] += 1
        end = span.end
    pieces.append(text[end:])
    return "".join(pieces), replaced


def redact_spans(text: str, spans: Sequence[Span]) -> tuple[str, list[str]]:
    """Replace non-overlapping, start-sorted ``spans`` of ``text`` by their placeholders.

    Use it directly with spans already stored on a PII flag to skip scanning again.
    """
    if not spans:
        return text, []
    redacted, replaced = _replace_spans(text, spans)
    return redacted, sorted(replaced)


def redact_counted(text: str) -> tuple[str, Counter[str]]:
    """``text`` with every PII finding replaced, and how many of each kind were replaced."""
    spans = find_pii(text)
    if not spans:
        return text, Counter()
    return _replace_spans(text, spans)


def redact(text: str) -> tuple[str, list[str]]:
    """``text`` with every PII finding replaced by a placeholder such as ``[EMAIL]``,
    and the sorted kinds that were found."""
    redacted, replaced = redact_counted(text)
    return redacted, sorted(replaced)


@functools.lru_cache(maxsize=256)
def _redact_system(text: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    # System prompts repeat across a whole export; scan each one once (an immutable result).
    redacted, replaced = redact_counted(text)
    return redacted, tuple(replaced.items())


def _redact_messages_counted(
    messages: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], Counter[str]]:
    out: list[dict[str, Any]] = []
    replaced: Counter[str] = Counter()
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            if message.get("role") == "system":
                redacted, pairs = _redact_system(content)
                found: Counter[str] = Counter(dict(pairs))
            else:
                redacted, found = redact_counted(content)
            if found:
                replaced.update(found)
                out.append({**message, "content": redacted})
                continue
        out.append(dict(message))
    return out, replaced


def redact_messages(
    messages: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Copies of ``messages`` with their string contents redacted, and the kinds found."""
    out, replaced = _redact_messages_counted(messages)
    return out, sorted(replaced)


# The fields of each export kind that carry free text written by users, models or
# reviewers. Ids, names of queues and annotators, taxonomy labels and numbers are kept.
REDACTED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "sft": ("messages",),
    "preference": ("prompt", "chosen", "rejected"),
    "openai_dpo": ("input", "preferred_output", "non_preferred_output"),
    "eval": ("prompt", "reference", "response", "labels"),
    "retrieval": ("query", "doc_text"),
    "annotations": ("values", "adjudication", "metadata"),
}


def redact_row_counted(kind: str, row: Mapping[str, Any]) -> tuple[dict[str, Any], Counter[str]]:
    """A copy of an export row with PII replaced in its free-text fields, and how many
    replacements of each kind were made (an email written twice counts twice).

    Conversations are redacted turn by turn; JSON objects (review values, labels) in
    every string they hold, keys excepted.
    """
    out = dict(row)
    replaced: Counter[str] = Counter()
    for name in REDACTED_FIELDS[kind]:
        value = row[name]
        if isinstance(value, str):
            out[name], found = redact_counted(value)
        elif name in (
            "messages",
            "prompt",
            "chosen",
            "rejected",
            "preferred_output",
            "non_preferred_output",
        ):
            out[name], found = _redact_messages_counted(value)
        else:
            out[name], found = _redact_json(value)
        replaced.update(found)
    return out, replaced


def redact_row(kind: str, row: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of an export row with PII replaced in its free-text fields, and the kinds found."""
    out, replaced = redact_row_counted(kind, row)
    return out, sorted(replaced)


def _redact_json(value: Any) -> tuple[Any, Counter[str]]:
    if isinstance(value, str):
        return redact_counted(value)
    replaced: Counter[str] = Counter()
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key], found = _redact_json(item)
            replaced.update(found)
        return out, replaced
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            redacted, found = _redact_json(item)
            items.append(redacted)
            replaced.update(found)
        return items, replaced
    return value, replaced
