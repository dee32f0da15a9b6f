"""A queue's label schema and the validation of annotations against it.

A schema is `{"fields": [{"name", "type", "options", "min", "max", "required", "agreement"}]}`:

| type | value | options |
| --- | --- | --- |
| choice | one option | a list, or "taxonomy" |
| multi_choice | a list of distinct options | a list, "taxonomy", or {"taxonomy": [labels]} |
| likert | a whole number from min to max (default 1-5) | - |
| correction | text; the UI prefills it with the response | - |
| text | text (a comment) | - |
| relevance | {document id: option} for the interaction's retrieved documents | a list (default relevant, partially_relevant, irrelevant) |
| pairwise | "A", "B" or "tie" | - |

`"taxonomy"` means the project's feedback taxonomy as it is when the annotation is submitted; a
list under `{"taxonomy": [...]}` must name labels of the taxonomy when the schema is saved.
`"agreement": true` marks a field on which the item's annotators must agree; when they do not, the
item waits for a lead's adjudication.

Every error names its place (`schema.fields[2].options`, `values.rating`), what is wrong and what
to do instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FIELD_TYPES = ("choice", "multi_choice", "likert", "correction", "text", "relevance", "pairwise")
FIELD_KEYS = {
    "name",
    "type",
    "label",
    "help",
    "options",
    "min",
    "max",
    "required",
    "agreement",
    "max_length",
}
RELEVANCE_OPTIONS = ("relevant", "partially_relevant", "irrelevant")
PAIRWISE_OPTIONS = ("A", "B", "tie")
MAX_FIELDS = 30
MAX_OPTIONS = 100
TEXT_MAX_LENGTH = 1_000_000
# Likert bounds stay small whole numbers, so every value they admit fits any column and report.
LIKERT_BOUND = 1_000_000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    options: tuple[str, ...] = ()
    # Options are the project's whole taxonomy, read at validation time.
    whole_taxonomy: bool = False
    min: int = 1
    max: int = 5
    required: bool = False
    agreement: bool = False
    max_length: int = TEXT_MAX_LENGTH

    def allowed(self, taxonomy: Sequence[str]) -> tuple[str, ...]:
        return tuple(taxonomy) if self.whole_taxonomy else self.options


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def shown(value: Any, limit: int = 40) -> str:
    """A short `repr` of a submitted value for an error message; never fails.

    An int of thousands of digits has no repr (Python refuses past 4,300 digits), a float may be
    nan or inf, and a container may hold either: numbers are described, containers named.
    """
    if _is_int(value):
        if value.bit_length() > 64:
            digits = int(value.bit_length() * math.log10(2)) + 1
            return f"a whole number of about {digits:,} digits"
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= limit else f"{text[: limit - 1]}…"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"an object of {len(value)} keys"
    return repr(value) if value is None or isinstance(value, bool) else type(value).__name__


def schema_errors(schema: Any, *, taxonomy: Sequence[str]) -> list[str]:
    """Everything wrong with `schema`, each as 'place: problem; remedy'."""
    if not isinstance(schema, dict):
        return ['schema: must be an object like {"fields": [...]}']
    unknown = sorted(set(schema) - {"fields"})
    errors = [f"schema.{key}: unknown key; a schema has only 'fields'" for key in unknown]
    fields = schema.get("fields")
    if not isinstance(fields, list) or not fields:
        return [*errors, "schema.fields: must be a non-empty list of fields"]
    if len(fields) > MAX_FIELDS:
        errors.append(f"schema.fields: {len(fields)} fields; use at most {MAX_FIELDS}")
    seen: set[str] = set()
    for index, field in enumerate(fields):
        place = f"schema.fields[{index}]"
        if not isinstance(field, dict):
            errors.append(
                f'{place}: must be an object like {{"name": "verdict", "type": "choice"}}'
            )
            continue
        errors.extend(_field_errors(place, field, taxonomy))
        name = field.get("name")
        if isinstance(name, str):
            if name in seen:
                errors.append(f"{place}.name: '{name}' is used twice; give each field its own name")
            seen.add(name)
    return errors


def _field_errors(place: str, field: dict[str, Any], taxonomy: Sequence[str]) -> list[str]:
    errors = [
        f"{place}.{key}: unknown key; use {', '.join(sorted(FIELD_KEYS))}"
        for key in sorted(set(field) - FIELD_KEYS)
    ]
    name = field.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        errors.append(
            f"{place}.name: {name!r} is not a valid name; use lowercase letters, digits and _ "
            "starting with a letter"
        )
    kind = field.get("type")
    if kind not in FIELD_TYPES:
        errors.append(
            f"{place}.type: {kind!r} is not a field type; use one of {', '.join(FIELD_TYPES)}"
        )
        return errors
    for flag in ("required", "agreement"):
        if flag in field and not isinstance(field[flag], bool):
            errors.append(f"{place}.{flag}: must be true or false")
    if "max_length" in field and (
        kind not in ("text", "correction")
        or not _is_int(field["max_length"])
        or not 1 <= field["max_length"] <= TEXT_MAX_LENGTH
    ):
        errors.append(
            f"{place}.max_length: only text and correction fields take it, a whole number from 1 "
            f"to {TEXT_MAX_LENGTH}"
        )
    if kind == "likert":
        errors.extend(_likert_errors(place, field))
    elif "min" in field or "max" in field:
        errors.append(f"{place}: min and max apply to likert fields only; remove them")
    options = field.get("options")
    if kind in ("choice", "multi_choice", "relevance"):
        if kind != "relevance" or options is not None:
            errors.extend(_options_errors(place, kind, options, taxonomy))
    elif options is not None:
        errors.append(f"{place}.options: a {kind} field takes no options; remove them")
    return errors


def _likert_errors(place: str, field: dict[str, Any]) -> list[str]:
    low, high = field.get("min", 1), field.get("max", 5)
    if not _is_int(low) or not _is_int(high):
        return [f"{place}: min and max must be whole numbers, e.g. 1 and 5"]
    if not (-LIKERT_BOUND <= low <= LIKERT_BOUND and -LIKERT_BOUND <= high <= LIKERT_BOUND):
        return [f"{place}: min and max must be within ±{LIKERT_BOUND:,}, e.g. 1 and 5"]
    if not low < high or high - low > 10:
        return [f"{place}: min {low} and max {high} must satisfy min < max ≤ min + 10"]
    return []


def _options_errors(place: str, kind: str, options: Any, taxonomy: Sequence[str]) -> list[str]:
    where = f"{place}.options"
    if options == "taxonomy":
        return [] if kind != "relevance" else [f"{where}: relevance takes a list of options"]
    if isinstance(options, dict):
        if kind == "relevance" or set(options) != {"taxonomy"}:
            return [f'{where}: the only object form is {{"taxonomy": ["label", ...]}}']
        labels = options["taxonomy"]
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) for x in labels)
        ):
            return [f"{where}.taxonomy: must be a non-empty list of taxonomy labels"]
        unknown = [label for label in labels if label not in taxonomy]
        if unknown:
            return [
                f"{where}.taxonomy: {', '.join(repr(x) for x in unknown)} not in the project's "
                f"taxonomy; use labels from: {', '.join(taxonomy)} (or add them to the taxonomy)"
            ]
        return []
    if (
        not isinstance(options, list)
        or not options
        or not all(isinstance(x, str) and x for x in options)
    ):
        return [
            f'{where}: must be a non-empty list of strings, "taxonomy", or {{"taxonomy": [labels]}}'
        ]
    if len(options) > MAX_OPTIONS:
        return [f"{where}: {len(options)} options; use at most {MAX_OPTIONS}"]
    if len(set(options)) != len(options):
        return [f"{where}: options repeat; list each once"]
    return []


def parse_schema(schema: dict[str, Any]) -> list[FieldSpec]:
    """The fields of a schema that `schema_errors` accepted."""
    specs = []
    for field in schema["fields"]:
        kind = field["type"]
        options = field.get("options")
        whole = options == "taxonomy"
        if isinstance(options, dict):
            options = options["taxonomy"]
        if kind == "relevance" and options is None:
            options = RELEVANCE_OPTIONS
        if kind == "pairwise":
            options = PAIRWISE_OPTIONS
        specs.append(
            FieldSpec(
                name=field["name"],
                type=kind,
                options=tuple(options) if isinstance(options, list | tuple) else (),
                whole_taxonomy=whole,
                min=field.get("min", 1),
                max=field.get("max", 5),
                required=field.get("required", False),
                agreement=field.get("agreement", False),
                max_length=field.get("max_length", TEXT_MAX_LENGTH),
            )
        )
    return specs


def values_errors(
    values: Any,
    *,
    fields: Sequence[FieldSpec],
    taxonomy: Sequence[str],
    document_ids: Sequence[str] = (),
) -> list[FieldError]:
    """Everything wrong with an annotation's `values` under the schema `fields`."""
    if not isinstance(values, dict):
        return [FieldError("values", "must be an object of field name to value")]
    by_name = {spec.name: spec for spec in fields}
    errors = [
        FieldError(f"values.{key}", f"not a field of this queue's schema; use {', '.join(by_name)}")
        for key in values
        if key not in by_name
    ]
    for spec in fields:
        value = values.get(spec.name)
        place = f"values.{spec.name}"
        if value is None or value == "" or value == [] or value == {}:
            applicable = spec.type != "relevance" or bool(document_ids)
            if spec.required and applicable:
                errors.append(FieldError(place, f"required; {_expectation(spec, taxonomy)}"))
            continue
        problem = _value_problem(spec, value, taxonomy, document_ids)
        if problem:
            errors.append(FieldError(place, problem))
    return errors


def _expectation(spec: FieldSpec, taxonomy: Sequence[str]) -> str:
    allowed = ", ".join(spec.allowed(taxonomy))
    return {
        "choice": f"give one of: {allowed}",
        "multi_choice": f"give a list of one or more of: {allowed}",
        "likert": f"give a whole number from {spec.min} to {spec.max}",
        "correction": "give the corrected response as text",
        "text": "give a text",
        "relevance": f"rate every retrieved document as one of: {allowed}",
        "pairwise": "give A, B or tie",
    }[spec.type]


def _value_problem(
    spec: FieldSpec, value: Any, taxonomy: Sequence[str], document_ids: Sequence[str]
) -> str | None:
    allowed = spec.allowed(taxonomy)
    expect = _expectation(spec, taxonomy)
    if spec.type in ("choice", "pairwise"):
        return (
            None
            if isinstance(value, str) and value in allowed
            else f"{shown(value)} is not allowed; {expect}"
        )
    if spec.type == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            return f"must be a list of strings; {expect}"
        unknown = [x for x in value if x not in allowed]
        if unknown:
            return f"{', '.join(shown(x) for x in unknown[:5])} not allowed; {expect}"
        if len(set(value)) != len(value):
            return "lists an option twice; list each once"
        return None
    if spec.type == "likert":
        if not _is_int(value) or not spec.min <= value <= spec.max:
            return f"{shown(value)} is not allowed; {expect}"
        return None
    if spec.type in ("correction", "text"):
        if not isinstance(value, str):
            return f"must be text; {expect}"
        if len(value) > spec.max_length:
            return f"{len(value)} characters; shorten it to at most {spec.max_length}"
        return None
    # relevance
    if not isinstance(value, dict):
        return f'must be an object of document id to rating, e.g. {{"kb-7": "relevant"}}; {expect}'
    if not document_ids:
        return "this interaction has no retrieved documents; leave the field out"
    unknown_docs = [key for key in value if key not in document_ids]
    if unknown_docs:
        return (
            f"{', '.join(shown(x) for x in unknown_docs[:5])} not among the retrieved documents; "
            f"use ids from: {', '.join(document_ids)}"
        )
    bad = [
        key for key, rating in value.items() if not isinstance(rating, str) or rating not in allowed
    ]
    if bad:
        return f"ratings of {', '.join(shown(x) for x in bad[:5])} not allowed; use one of: {', '.join(allowed)}"
    missing = [doc for doc in document_ids if doc not in value]
    if spec.required and missing:
        return f"{', '.join(shown(x) for x in missing[:5])} not rated; {expect}"
    return None


def comparable(spec: FieldSpec, value: Any) -> Any:
    """A form of `value` in which equal answers compare equal (lists as sets, absent as None)."""
    if value in (None, "", [], {}):
        return None
    if spec.type == "multi_choice" and isinstance(value, list):
        return tuple(sorted(value))
    if spec.type in ("correction", "text") and isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


def disagreements(fields: Sequence[FieldSpec], annotations: Sequence[dict[str, Any]]) -> list[str]:
    """Names of the `agreement` fields on which the annotations do not all give the same answer."""
    return [
        spec.name
        for spec in fields
        if spec.agreement and len({comparable(spec, a.get(spec.name)) for a in annotations}) > 1
    ]
