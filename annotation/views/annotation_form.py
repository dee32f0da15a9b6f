"""Translating the workspace's HTML form to and from an annotation's `values`.

The form only translates; the annotation services validate against the schema, so the browser
and the API refuse exactly the same things.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from annotation.review.correction_diff import correction_changed
from annotation.review.display import human, option_label
from annotation.schemas.label_schema import FieldSpec

MAX_FORM_TEXT = 1_000_000
_WHOLE = re.compile(r"-?[0-9]{1,18}")


def relevance_key(field_name: str, document_id: str) -> str:
    return f"{field_name}__doc__{document_id}"


def values_from_post(
    fields: Sequence[FieldSpec],
    post: QueryDict,
    document_ids: Sequence[str],
    *,
    original: str | None = None,
) -> dict[str, Any]:
    """The values a submitted form gives; empty fields are left out, everything else kept as sent.

    The correction editor starts as the response (`original`): sent back with the same words, it
    is no correction and is left out too.
    """
    values: dict[str, Any] = {}
    for spec in fields:
        if spec.type == "correction" and original is not None:
            raw = post.get(spec.name, "")
            if raw.strip() and correction_changed(original, raw):
                values[spec.name] = raw
            continue
        if spec.type == "multi_choice":
            chosen = post.getlist(spec.name)
            if chosen:
                values[spec.name] = chosen
        elif spec.type == "likert":
            raw = post.get(spec.name, "").strip()
            if raw:
                # Only short ASCII numbers become ints; anything else (5,000 digits, "²") stays
                # text, which the schema refuses by name.
                values[spec.name] = int(raw) if _WHOLE.fullmatch(raw) else raw
        elif spec.type == "relevance":
            ratings = {
                doc: post[relevance_key(spec.name, doc)]
                for doc in document_ids
                if post.get(relevance_key(spec.name, doc))
            }
            if ratings:
                values[spec.name] = ratings
        else:
            raw = post.get(spec.name, "")
            if raw.strip():
                values[spec.name] = raw
    return values


def seconds_from_post(post: QueryDict) -> float | None:
    try:
        seconds = float(post.get("seconds", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds < 24 * 3600 else None


@dataclass
class Widget:
    """One schema field as the template draws it."""

    spec: FieldSpec
    options: list[str]
    value: Any = None
    error: str = ""
    documents: list[dict[str, Any]] = field(default_factory=list)
    # What people read: the schema's label for the field, and each option's label.
    label: str = ""
    option_labels: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.label or human(self.spec.name)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, label) of each option: the value is posted, the label shown."""
        return [
            (option, option_label(option, kind=self.spec.type, labels=self.option_labels))
            for option in self.options
        ]

    @property
    def keys_hint(self) -> str:
        """The keys that act on the field, shown beside its name."""
        if self.spec.type == "correction":
            return "e"
        if self.spec.type == "likert":
            points = self.scale
            if points and points[0] >= 1 and points[-1] <= 9:
                return f"{points[0]}\u2013{points[-1]}"
            return f"1\u2013{min(len(points), 9)}"
        count = min(len(self.options), 9)
        if self.spec.type in ("choice", "multi_choice", "pairwise", "relevance") and count:
            return "1" if count == 1 else f"1\u2013{count}"
        return ""

    @property
    def scale(self) -> list[int]:
        return list(range(self.spec.min, self.spec.max + 1))

    @property
    def chosen(self) -> list[str]:
        return list(self.value) if isinstance(self.value, list) else []


def widgets(
    fields: Sequence[FieldSpec],
    *,
    taxonomy: Sequence[str],
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    response: str,
    documents: Sequence[dict[str, Any]],
    labels: Mapping[str, str] | None = None,
    option_labels: Mapping[str, str] | None = None,
) -> list[Widget]:
    """The form's fields; `labels` are the schema's field labels, `option_labels` the taxonomy's."""
    drawn = []
    for spec in fields:
        value = values.get(spec.name)
        if spec.type == "correction" and value is None:
            value = response
        if spec.type == "relevance":
            ratings = value if isinstance(value, dict) else {}
            docs = [
                {
                    **doc,
                    "rating": ratings.get(str(doc.get("id")), ""),
                    "key": relevance_key(spec.name, str(doc.get("id"))),
                }
                for doc in documents
            ]
        else:
            docs = []
        drawn.append(
            Widget(
                spec=spec,
                options=list(spec.allowed(taxonomy)),
                value=value,
                error=errors.get(f"values.{spec.name}", ""),
                documents=docs,
                label=(labels or {}).get(spec.name, ""),
                option_labels=dict(option_labels or {}),
            )
        )
    return drawn
