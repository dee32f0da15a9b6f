"""An export request: its kind, format, filters and curation options, parsed and validated.

The request, as the API, the exports page and ``manage.py export`` give it::

    {"project": "support-bot", "kind": "sft", "format": "jsonl",
     "filters": {"queues": [1], "since": "2026-11-01T00:00:00Z", "adjudicated_only": false,
                 "min_agreement": 0.6, "min_guideline_version": 3},
     "redact_pii": true, "split": {"validation": 0.1, "seed": 7}}

Every problem is reported with its place (``filters.min_agreement``), what is wrong and
what to give instead. The parsed filters and options are stored on the ``Export`` in a
normal form (``to_json``) and read back with ``from_json``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from django.utils.dateparse import parse_datetime

from annotation.exports.atomic import Format
from annotation.exports.reviewed import PartialRelevance
from annotation.exports.rows import KINDS

# Not writers.FORMATS: that module loads pyarrow, which web processes have no use for.
FORMATS: tuple[str, ...] = get_args(Format)

LIST_FILTERS = ("model", "model_version", "prompt_template", "verdicts", "reasons", "sampled_by")
FILTER_KEYS = (
    "queues",
    "since",
    "until",
    *LIST_FILTERS,
    "adjudicated_only",
    "agreed_only",
    "min_agreement",
    "min_guideline_version",
)
REQUEST_KEYS = (
    "project",
    "kind",
    "format",
    "filters",
    "redact_pii",
    "exclude_pii",
    "dedupe",
    "split",
    "system_prompt",
    "partial_relevance",
)
PROMPT_KINDS = ("sft", "preference", "openai_dpo", "eval")
MAX_SYSTEM_PROMPT = 100_000
MAX_LIST = 1_000


@dataclass(frozen=True)
class ExportFilters:
    """Which reviewed items an export reads. Empty lists and None mean "any"."""

    queues: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    model: tuple[str, ...] = ()
    model_version: tuple[str, ...] = ()
    prompt_template: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    sampled_by: tuple[str, ...] = ()
    adjudicated_only: bool = False
    agreed_only: bool = False
    min_agreement: float | None = None
    min_guideline_version: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Only what was asked for, datetimes as ISO 8601: what the manifest records."""
        data: dict[str, Any] = {}
        if self.queues:
            data["queues"] = list(self.queues)
        for name in ("since", "until"):
            value: datetime | None = getattr(self, name)
            if value is not None:
                data[name] = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        for name in LIST_FILTERS:
            if getattr(self, name):
                data[name] = list(getattr(self, name))
        if self.adjudicated_only:
            data["adjudicated_only"] = True
        if self.agreed_only:
            data["agreed_only"] = True
        if self.min_agreement is not None:
            data["min_agreement"] = self.min_agreement
        if self.min_guideline_version is not None:
            data["min_guideline_version"] = self.min_guideline_version
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportFilters:
        """Filters stored by ``to_json`` (already valid)."""
        values: dict[str, Any] = {}
        for name in FILTER_KEYS:
            if name not in data:
                continue
            value = data[name]
            if name in ("since", "until"):
                value = parse_datetime(value)
            elif name == "queues" or name in LIST_FILTERS:
                value = tuple(value)
            values[name] = value
        return cls(**values)

    @property
    def needs_settling(self) -> bool:
        """Whether items must be settled (final values, agreement) just to be filtered."""
        return bool(
            self.verdicts or self.reasons or self.agreed_only or self.min_agreement is not None
        )


@dataclass(frozen=True)
class Split:
    validation: float
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"validation": self.validation, "seed": self.seed}


@dataclass(frozen=True)
class ExportOptions:
    """How rows are curated: PII, duplicates, split, system prompt, relevance grades."""

    redact_pii: bool = False
    exclude_pii: bool = False
    dedupe: bool = True
    split: Split | None = None
    system_prompt: str | None = None
    partial_relevance: PartialRelevance = "relevant"

    def to_json(self) -> dict[str, Any]:
        return {
            "redact_pii": self.redact_pii,
            "exclude_pii": self.exclude_pii,
            "dedupe": self.dedupe,
            "split": self.split.to_json() if self.split else None,
            "system_prompt": self.system_prompt,
            "partial_relevance": self.partial_relevance,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportOptions:
        split = data.get("split")
        return cls(
            redact_pii=bool(data.get("redact_pii", False)),
            exclude_pii=bool(data.get("exclude_pii", False)),
            dedupe=bool(data.get("dedupe", True)),
            split=Split(float(split["validation"]), int(split.get("seed", 0))) if split else None,
            system_prompt=data.get("system_prompt") or None,
            partial_relevance=data.get("partial_relevance", "relevant"),
        )

    @property
    def parts(self) -> tuple[str, ...]:
        return ("train", "validation") if self.split else ("all",)


@dataclass(frozen=True)
class ExportSpec:
    kind: str
    format: str
    filters: ExportFilters = field(default_factory=ExportFilters)
    options: ExportOptions = field(default_factory=ExportOptions)


class ExportRequestInvalid(ValueError):
    """What is wrong with an export request; ``code`` names the first kind of problem."""

    def __init__(self, code: str, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.code = code
        self.errors = errors

    @property
    def message(self) -> str:
        first = self.errors[0]
        more = (
            f" (and {len(self.errors) - 1} more problems, see details)"
            if len(self.errors) > 1
            else ""
        )
        return f"{first['field']}: {first['message']}{more}"


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.code = "invalid_export"

    def add(self, place: str, message: str, code: str | None = None) -> None:
        if code and not self.items:
            self.code = code
        self.items.append({"field": place, "message": message})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# A NUL (PostgreSQL text cannot hold it) or a lone UTF-16 surrogate (not text at all).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_VERSION = 2**31 - 1


def _shown(value: Any) -> str:
    """``value`` for an error message: its repr, cut short (a number may have 4,000 digits)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 60 else f"{text[:57]}..."


def unstorable_text(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored; remove it"
    return "contains a lone UTF-16 surrogate, which is not text; send the character itself"


def _printable(text: str) -> str:
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _share(value: Any) -> float | None:
    """A number from 0 to 1 as a float; None for anything else (NaN, infinities, huge)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    # Compared before any conversion: float() of an integer with 400 digits overflows.
    if not 0 <= value <= 1:
        return None
    return float(value)


def _strings(errors: _Errors, place: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        errors.add(place, 'give a non-empty string or a list of them, e.g. ["2026-10-01"]')
        return ()
    if len(value) > MAX_LIST:
        errors.add(place, f"{len(value)} values; give at most {MAX_LIST}")
        return ()
    for index, text in enumerate(value):
        problem = unstorable_text(text)
        if problem is not None:
            errors.add(place if len(value) == 1 else f"{place}[{index}]", problem)
            return ()
    return tuple(dict.fromkeys(value))


def _bool(errors: _Errors, place: str, value: Any) -> bool:
    if not isinstance(value, bool):
        errors.add(place, "give true or false")
        return False
    return value


def _datetime(errors: _Errors, place: str, value: Any) -> datetime | None:
    parsed = None
    if isinstance(value, str) and unstorable_text(value) is None:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None:
        errors.add(
            place,
            f"{_shown(value)} is not a date and time; give ISO 8601 like 2026-11-01T00:00:00Z",
        )
        return None
    # A time without an offset is taken as UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_filters(data: Any, *, queue_ids: Collection[int], errors: _Errors) -> ExportFilters:
    if data is None:
        return ExportFilters()
    if not isinstance(data, Mapping):
        errors.add("filters", 'give an object like {"queues": [1], "min_agreement": 0.6}')
        return ExportFilters()
    for key in data:
        if key not in FILTER_KEYS:
            errors.add(
                f"filters.{_printable(str(key))}", f"unknown filter; use {', '.join(FILTER_KEYS)}"
            )
    values: dict[str, Any] = {}
    if "queues" in data:
        queues = data["queues"]
        if not isinstance(queues, list) or not queues or not all(_is_int(q) for q in queues):
            errors.add("filters.queues", "give a non-empty list of queue ids, e.g. [1, 2]")
        else:
            unknown = [q for q in queues if q not in queue_ids]
            if unknown:
                errors.add(
                    "filters.queues",
                    f"{', '.join(map(_shown, unknown))} not queues of this project; "
                    f"its queues are {', '.join(map(str, sorted(queue_ids))) or 'none yet'}",
                )
            values["queues"] = tuple(dict.fromkeys(queues))
    for name in ("since", "until"):
        if name in data:
            values[name] = _datetime(errors, f"filters.{name}", data[name])
    if values.get("since") and values.get("until") and values["since"] >= values["until"]:
        errors.add("filters.until", "must be later than since")
    for name in LIST_FILTERS:
        if name in data:
            values[name] = _strings(errors, f"filters.{name}", data[name])
    for name in ("adjudicated_only", "agreed_only"):
        if name in data:
            values[name] = _bool(errors, f"filters.{name}", data[name])
    if "min_agreement" in data:
        value = data["min_agreement"]
        share = _share(value)
        if share is None:
            errors.add(
                "filters.min_agreement",
                f"{_shown(value)} is not a share; give a number from 0 to 1, e.g. 0.6",
            )
        else:
            values["min_agreement"] = share
    if "min_guideline_version" in data:
        value = data["min_guideline_version"]
        if not _is_int(value) or not 1 <= value <= MAX_VERSION:
            errors.add(
                "filters.min_guideline_version",
                f"{_shown(value)} is not a version; give a whole number ≥ 1 (at most {MAX_VERSION})",
            )
        else:
            values["min_guideline_version"] = value
    return ExportFilters(**{k: v for k, v in values.items() if v is not None})


def parse_export_request(data: Any, *, queue_ids: Collection[int]) -> ExportSpec:
    """The spec of a valid request; ``ExportRequestInvalid`` listing every problem otherwise.

    ``queue_ids`` are the ids of the project's queues (``filters.queues`` must be among
    them); the project itself is resolved by the caller.
    """
    errors = _Errors()
    if not isinstance(data, Mapping):
        errors.add("request", 'give an object like {"project": "...", "kind": "sft"}')
        raise ExportRequestInvalid(errors.code, errors.items)
    for key in data:
        if key not in REQUEST_KEYS:
            errors.add(
                _printable(str(key)),
                f"unknown key; an export request has {', '.join(REQUEST_KEYS)}",
            )
    project = data.get("project")
    if isinstance(project, str) and (problem := unstorable_text(project)) is not None:
        errors.add("project", problem)
    kind = data.get("kind")
    if kind not in KINDS:
        errors.add(
            "kind",
            f"{_shown(kind)} is not an export kind; use one of {', '.join(KINDS)}",
            code="unknown_kind",
        )
    fmt = data.get("format", "jsonl")
    if fmt not in FORMATS:
        errors.add(
            "format",
            f"{_shown(fmt)} is not an export format; use one of {', '.join(FORMATS)}",
            code="unknown_format",
        )
    filters = parse_filters(data.get("filters"), queue_ids=queue_ids, errors=errors)
    options = _options(data, kind, errors)
    if errors.items:
        raise ExportRequestInvalid(errors.code, errors.items)
    return ExportSpec(kind=str(kind), format=str(fmt), filters=filters, options=options)


def _options(data: Mapping[str, Any], kind: Any, errors: _Errors) -> ExportOptions:
    values: dict[str, Any] = {}
    for name in ("redact_pii", "exclude_pii", "dedupe"):
        if name in data:
            values[name] = _bool(errors, name, data[name])
    if values.get("redact_pii") and values.get("exclude_pii"):
        errors.add(
            "exclude_pii",
            "choose one: redact_pii replaces personal data with placeholders, exclude_pii "
            "leaves such rows out",
        )
    if kind == "annotations":
        if values.get("dedupe"):
            errors.add("dedupe", "annotation exports keep every annotation; leave dedupe out")
        values["dedupe"] = False
    split = data.get("split")
    if split is not None:
        if not isinstance(split, Mapping) or set(split) - {"validation", "seed"}:
            errors.add("split", 'give an object like {"validation": 0.1, "seed": 7}')
        else:
            share = split.get("validation")
            seed = split.get("seed", 0)
            fraction = _share(share)
            if fraction is None or fraction in (0.0, 1.0):
                errors.add(
                    "split.validation",
                    f"{_shown(share)} is not a share; give the validation part as a number between "
                    "0 and 1, e.g. 0.1",
                )
            elif not _is_int(seed) or not 0 <= seed < 2**63:
                errors.add(
                    "split.seed",
                    f"{_shown(seed)} is not a seed; give a whole number from 0 to 2^63",
                )
            else:
                values["split"] = Split(fraction, seed)
    if "system_prompt" in data and data["system_prompt"] is not None:
        prompt = data["system_prompt"]
        if kind not in PROMPT_KINDS:
            errors.add("system_prompt", f"applies to {', '.join(PROMPT_KINDS)} exports only")
        elif not isinstance(prompt, str) or len(prompt) > MAX_SYSTEM_PROMPT:
            errors.add("system_prompt", f"give text of at most {MAX_SYSTEM_PROMPT} characters")
        elif (problem := unstorable_text(prompt)) is not None:
            errors.add("system_prompt", problem)
        else:
            values["system_prompt"] = prompt.strip() or None
    if "partial_relevance" in data:
        choice = data["partial_relevance"]
        allowed = get_args(PartialRelevance)
        if kind != "retrieval":
            errors.add("partial_relevance", "applies to retrieval exports only")
        elif choice not in allowed:
            errors.add(
                "partial_relevance",
                f"{_shown(choice)} is not allowed; say whether partially relevant documents count as "
                f"{' or '.join(allowed)}",
            )
        else:
            values["partial_relevance"] = choice
    return ExportOptions(**values)
