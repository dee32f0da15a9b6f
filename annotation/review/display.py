"""How review values read to people: field and option labels, values as text, why an item is here.

Pages never show a stored value as Python or JSON (`['unhelpful']`), a raw name (`off_topic`) or a
bare statistic (`p = 1.0000`). Labels come from the queue's schema (a field's `label`) and the
project's taxonomy (an entry's `label`); without one, the name is written out as words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Names the product itself gives to queue sources and pairwise answers.
REASON_LABELS = {
    "low_rated": "Low rating",
    "flagged": "Flagged by a check",
    "random": "Random sample",
    "uncertain": "Evaluator unsure",
    "implicit_negative": "User signal (abandoned, rephrased or regenerated)",
    "manual": "Added by a lead",
}
PAIRWISE_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie"}
FIELD_TYPE_HINTS = {
    "choice": "pick one",
    "multi_choice": "pick any",
    "likert": "pick one",
    "pairwise": "pick one",
    "relevance": "rate each document",
}


def human(name: Any) -> str:
    """`off_topic` -> `Off topic`, `low-rated` -> `Low rated`; other text is left as it is."""
    text = "" if name is None else str(name)
    if not text or " " in text.strip():
        return text
    words = text.replace("_", " ").replace("-", " ").split()
    if not words:
        return text
    first = words[0]
    # An acronym or a capitalised name keeps its case (PII, A, GPT).
    if not first[:1].isupper():
        words[0] = first[:1].upper() + first[1:]
    return " ".join(words)


def _text_label(entry: Mapping[str, Any], fallback: str) -> str:
    label = entry.get("label")
    return label.strip() if isinstance(label, str) and label.strip() else human(fallback)


def taxonomy_labels(taxonomy: Sequence[Any]) -> dict[str, str]:
    """Label of each taxonomy entry by name: its own `label`, else its name in words."""
    return {
        str(entry["name"]): _text_label(entry, str(entry["name"]))
        for entry in taxonomy
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str)
    }


def field_labels(schema: Any) -> dict[str, str]:
    """Label of each schema field by name: its `label`, else its name in words."""
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    return {
        str(field["name"]): _text_label(field, str(field["name"]))
        for field in fields or []
        if isinstance(field, Mapping) and isinstance(field.get("name"), str)
    }


def field_types(schema: Any) -> dict[str, str]:
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    return {
        str(field["name"]): str(field.get("type", ""))
        for field in fields or []
        if isinstance(field, Mapping) and isinstance(field.get("name"), str)
    }


def option_label(option: Any, *, kind: str = "", labels: Mapping[str, str] | None = None) -> str:
    """An option as people read it: the taxonomy's label, the pairwise wording, or words."""
    text = "" if option is None else str(option)
    if kind == "pairwise" and text in PAIRWISE_LABELS:
        return PAIRWISE_LABELS[text]
    if labels and text in labels:
        return labels[text]
    return human(text)


def value_text(value: Any, *, kind: str = "", labels: Mapping[str, str] | None = None) -> str:
    """A stored value as a sentence fragment: lists joined with commas, ratings per document."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(option_label(v, kind=kind, labels=labels) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(
            f"{key}: {option_label(rating, kind=kind, labels=labels)}"
            for key, rating in value.items()
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if kind in ("text", "correction"):
        return str(value)
    return option_label(value, kind=kind, labels=labels)


@dataclass(frozen=True)
class ShownValue:
    name: str
    label: str
    text: str
    kind: str


def shown_values(values: Any, *, schema: Any, taxonomy: Sequence[Any] = ()) -> list[ShownValue]:
    """An annotation's values in the schema's order, each with its label and readable text."""
    if not isinstance(values, Mapping):
        return []
    labels = field_labels(schema)
    kinds = field_types(schema)
    options = taxonomy_labels(taxonomy)
    order = [name for name in labels if name in values] + [
        str(name) for name in values if name not in labels
    ]
    return [
        ShownValue(
            name=name,
            label=labels.get(name, human(name)),
            text=value_text(values[name], kind=kinds.get(name, ""), labels=options),
            kind=kinds.get(name, ""),
        )
        for name in order
    ]


def reason_label(reason: Any) -> str:
    text = "" if reason is None else str(reason)
    return REASON_LABELS.get(text, human(text))


def inclusion_text(probability: Any) -> str:
    """Why the sample weight matters, in words: 'always picked' or 'picked about 1 in 100'."""
    try:
        p = float(probability)
    except (TypeError, ValueError):
        return ""
    if not 0 < p <= 1:
        return ""
    if p >= 0.9995:
        return "every such interaction is picked"
    one_in = 1 / p
    if one_in < 10:
        return f"about {round(p * 100)}% of such interactions are picked"
    return f"about 1 in {round(one_in):,} such interactions is picked"
