"""Replace personal data in incoming text with typed placeholders, remembering only kinds.

Pure logic: no Django. The spans come from the `pii` check's detectors
(`annotation.checks.detectors.find_pii`); each is replaced by its placeholder (`[EMAIL]`,
`[PHONE]`, … the same ones exports use), and the result records, per field, where each
placeholder now stands in the stored text and of which kind: reviewers can see what was there,
never what it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from annotation.checks.detectors import find_pii
from annotation.exports.curation import PLACEHOLDERS

# Placeholders recorded per field; a text holding more still has every value replaced, and the
# counts stay exact, but the record keeps only the first ones' positions.
MAX_SPANS_PER_FIELD = 100
# Metadata is at most 64 KB; its nesting is bounded by the body parser (64 levels).
_MAX_DEPTH = 64


def placeholder(kind: str) -> str:
    return PLACEHOLDERS.get(kind, f"[{kind.upper()}]")


@dataclass
class Redactions:
    """What one row lost: counts by kind, and placeholder spans by field path."""

    kinds: Counter[str] = field(default_factory=Counter)
    spans: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def text(self, path: str, text: str) -> str:
        """`text` with every PII finding replaced; the spans recorded under `path`."""
        if not text:
            return text
        found = find_pii(text)
        if not found:
            return text
        pieces: list[str] = []
        spans: list[dict[str, Any]] = []
        end = 0
        length = 0
        for span in found:
            before = text[end : span.start]
            pieces.append(before)
            length += len(before)
            marker = placeholder(span.kind)
            pieces.append(marker)
            if len(spans) < MAX_SPANS_PER_FIELD:
                spans.append({"start": length, "end": length + len(marker), "kind": span.kind})
            length += len(marker)
            self.kinds[span.kind] += 1
            end = span.end
        pieces.append(text[end:])
        self.spans[path] = spans
        return "".join(pieces)

    def json(self, path: str, value: Any, depth: int = 0) -> Any:
        """A copy of a JSON value with every string redacted (keys are kept as sent)."""
        if isinstance(value, str):
            return self.text(path, value)
        if depth >= _MAX_DEPTH:
            return value
        if isinstance(value, Mapping):
            return {key: self.json(f"{path}.{key}", item, depth + 1) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(f"{path}[{n}]", item, depth + 1) for n, item in enumerate(value)]
        return value

    def record(self) -> dict[str, Any]:
        """What is stored beside the row (`redactions`); empty kinds: scanned, nothing found."""
        return {
            "mode": "redact",
            "kinds": dict(sorted(self.kinds.items())),
            "spans": self.spans,
        }


def dropped_record(fields: list[str]) -> dict[str, Any]:
    return {"mode": "drop_prompt", "dropped": fields}
