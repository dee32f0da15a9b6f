"""Curation steps applied to each row of an export: duplicate keys, splits, PII redaction."""

from __future__ import annotations

import functools
import hashlib
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

    It keeps 16 bytes of each key (a collision among 10^9 distinct prompts has odds
    below 10^-20), each as a small bytes object: about 100 bytes per distinct prompt
    with the table, so ~100 MB for 1,000,000 rows. Past a few million rows, collapse
    duplicates in SQL instead (``DISTINCT ON`` an indexed prompt hash column).
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        # A dict rather than a set: a dict of bytes is not tracked by the cyclic garbage
        # collector, a set is, and traversing a million entries on every full collection
        # halved the export's speed.
        self._seen: dict[bytes, None] = {}

    def add(self, key: str) -> bool:
        """Record ``key``; True when it is new, False for a duplicate."""
        digest = bytes.fromhex(key[:32])
        if digest in self._seen:
            return False
        self._seen[digest] = None
        return True

    def __len__(self) -> int:
        return len(self._seen)


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


def redact_spans(text: str, spans: Sequence[Span]) -> tuple[str, list[str]]:
    """Replace non-overlapping, start-sorted ``spans`` of ``text`` by their placeholders.

    Use it directly with spans already stored on a PII flag to skip scanning again.
    """
    if not spans:
        return text, []
    pieces: list[str] = []
    kinds: set[str] = set()
    end = 0
    for span in spans:
        pieces.append(text[end : span.start])
        pieces.append(PLACEHOLDERS.get(span.kind, f"[{span.kind.upper()}]"))
        kinds.add(span.kind)
        end = span.end
    pieces.append(text[end:])
    return "".join(pieces), sorted(kinds)


def redact(text: str) -> tuple[str, list[str]]:
    """``text`` with every PII finding replaced by a placeholder such as ``[EMAIL]``,
    and the sorted kinds that were found."""
    return redact_spans(text, find_pii(text))


# System prompts repeat across a whole export; scan each one once.
_redact_system = functools.lru_cache(maxsize=256)(redact)


def redact_messages(
    messages: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Copies of ``messages`` with their string contents redacted, and the kinds found."""
    out: list[dict[str, Any]] = []
    kinds: set[str] = set()
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            scan = _redact_system if message.get("role") == "system" else redact
            redacted, found = scan(content)
            if found:
                kinds.update(found)
                out.append({**message, "content": redacted})
                continue
        out.append(dict(message))
    return out, sorted(kinds)


# The fields of each export kind that carry free text written by users, models or
# reviewers. Ids, names of queues and annotators, taxonomy labels and numbers are kept.
REDACTED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "sft": ("messages",),
    "preference": ("prompt", "chosen", "rejected"),
    "eval": ("prompt", "reference", "response", "labels"),
    "retrieval": ("query", "doc_text"),
    "annotations": ("values",),
}


def redact_row(kind: str, row: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of an export row with PII replaced in its free-text fields, and the kinds found.

    Conversations are redacted turn by turn; JSON objects (review values, labels) in
    every string they hold, keys excepted.
    """
    out = dict(row)
    kinds: set[str] = set()
    for name in REDACTED_FIELDS[kind]:
        value = row[name]
        if isinstance(value, str):
            out[name], found = redact(value)
        elif name in ("messages", "prompt", "chosen", "rejected"):
            out[name], found = redact_messages(value)
        else:
            out[name], found = _redact_json(value)
        kinds.update(found)
    return out, sorted(kinds)


def _redact_json(value: Any) -> tuple[Any, list[str]]:
    if isinstance(value, str):
        return redact(value)
    kinds: set[str] = set()
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key], found = _redact_json(item)
            kinds.update(found)
        return out, sorted(kinds)
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            redacted, found = _redact_json(item)
            items.append(redacted)
            kinds.update(found)
        return items, sorted(kinds)
    return value, []
