"""A queue's sampling rules (`sources`), `filters` and `priority`: parsing and validation.

Sources (each may carry `name`, defaulting to its type and used as the item's reason, `rate` in
(0, 1] and `seed`):

| type | picks | parameters |
| --- | --- | --- |
| low_rated | normalised rating ≤ threshold, or a negative taxonomy label | threshold (0.4), labels (true) |
| flagged | a flag of the named checks at or above a severity | checks (all), min_severity (warning) |
| random | a deterministic hash sample of everything the filters let through | rate (required) |
| uncertain | an evaluator's score within [low, high] | checks (all evaluators), low (0.4), high (0.6) |
| implicit_negative | abandoned, rephrased or regenerated | events (all three) |

Filters: model, model_version, prompt_template, prompt_template_version, experiment, variant
(a value or a list of values), since / until (ISO 8601, years 2000 to 2100), last_hours (1 to ten
years), metadata ({key: value}).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.utils.dateparse import parse_datetime

from annotation.models.checks import EVALUATOR_TYPES, Check, Severity
from annotation.models.feedback import NEGATIVE_IMPLICIT_EVENTS
from annotation.schemas.label_schema import schema_errors

if TYPE_CHECKING:
    from annotation.models.review import Queue

SOURCE_TYPES = ("low_rated", "flagged", "random", "uncertain", "implicit_negative")
_COMMON_KEYS = {"type", "name", "rate", "seed"}
_TYPE_KEYS: dict[str, set[str]] = {
    "low_rated": {"threshold", "labels"},
    "flagged": {"checks", "min_severity"},
    "random": set(),
    "uncertain": {"checks", "low", "high"},
    "implicit_negative": {"events"},
}
LIST_FILTERS = (
    "model",
    "model_version",
    "prompt_template",
    "prompt_template_version",
    "experiment",
    "variant",
)
FILTER_KEYS = (*LIST_FILTERS, "since", "until", "last_hours", "metadata")
MAX_SOURCES = 10
# Ten years back: a longer window is everything, and a huge one overflows the fill's arithmetic.
MAX_LAST_HOURS = 24 * 366 * 10
# Times a filter may name; outside, a time is a typo (and year 1 overflows on conversion).
EARLIEST_FILTER_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_FILTER_TIME = datetime(2100, 1, 1, tzinfo=UTC)
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_META_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
NEGATIVE_EVENTS = tuple(str(event) for event in NEGATIVE_IMPLICIT_EVENTS)


@dataclass(frozen=True)
class Source:
    type: str
    name: str
    rate: float = 1.0
    seed: int | None = None
    threshold: float = 0.4
    negative_labels: bool = True
    checks: tuple[str, ...] = ()
    min_severity: int = Severity.WARNING
    low: float = 0.4
    high: float = 0.6
    events: tuple[str, ...] = NEGATIVE_EVENTS


@dataclass(frozen=True)
class Filters:
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None
    last_hours: int | None = None
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) and x for x in value)


def sources_errors(sources: Any, *, checks: dict[str, Check] | None = None) -> list[str]:
    """Everything wrong with a list of sources; `checks` (by name) enables check look-ups."""
    if not isinstance(sources, list) or not sources:
        return ['sources: must be a non-empty list, e.g. [{"type": "low_rated", "threshold": 0.4}]']
    if len(sources) > MAX_SOURCES:
        return [f"sources: {len(sources)} sources; use at most {MAX_SOURCES}"]
    errors: list[str] = []
    names: set[str] = set()
    for index, source in enumerate(sources):
        place = f"sources[{index}]"
        if not isinstance(source, dict):
            errors.append(f'{place}: must be an object like {{"type": "random", "rate": 0.01}}')
            continue
        kind = source.get("type")
        if kind not in SOURCE_TYPES:
            errors.append(
                f"{place}.type: unknown source type {kind!r}; use one of {', '.join(SOURCE_TYPES)}"
            )
            continue
        allowed = _COMMON_KEYS | _TYPE_KEYS[kind]
        errors.extend(
            f"{place}.{key}: not a parameter of {kind} sources; use {', '.join(sorted(allowed))}"
            for key in sorted(set(source) - allowed)
        )
        name = source.get("name", kind)
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(
                f"{place}.name: {name!r} is not a valid name; use lowercase letters, digits, _ or -"
            )
        elif name in names:
            errors.append(
                f"{place}.name: two sources are named {name!r}; give one a distinct 'name'"
            )
        else:
            names.add(name)
        errors.extend(_source_errors(place, kind, source, checks))
    return errors


def _source_errors(
    place: str, kind: str, source: dict[str, Any], checks: dict[str, Check] | None
) -> list[str]:
    errors = []
    if "rate" in source or kind == "random":
        rate: Any = source.get("rate")
        if not _number(rate) or not 0 < rate <= 1:
            errors.append(
                f"{place}.rate: {rate!r} is outside (0, 1]; give the share to sample, e.g. 0.01"
            )
    if "seed" in source and not (
        isinstance(source["seed"], int) and not isinstance(source["seed"], bool)
    ):
        errors.append(f"{place}.seed: must be a whole number")
    if kind == "low_rated":
        threshold = source.get("threshold", 0.4)
        if not _number(threshold) or not 0 <= threshold <= 1:
            errors.append(
                f"{place}.threshold: {threshold!r} is outside [0, 1]; ratings are normalised to "
                "0 (worst) to 1 (best)"
            )
        if "labels" in source and not isinstance(source["labels"], bool):
            errors.append(f"{place}.labels: must be true or false (count negative labels)")
    if kind in ("flagged", "uncertain"):
        errors.extend(_checks_errors(place, kind, source.get("checks"), checks))
    if kind == "flagged" and "min_severity" in source:
        try:
            Severity.from_name(source["min_severity"])
        except (ValueError, TypeError):
            errors.append(
                f"{place}.min_severity: {source['min_severity']!r} is not a severity; use info, "
                "warning or critical"
            )
    if kind == "uncertain":
        low, high = source.get("low", 0.4), source.get("high", 0.6)
        if not _number(low) or not _number(high) or not 0 <= low <= high <= 1:
            errors.append(f"{place}: low {low!r} and high {high!r} must satisfy 0 ≤ low ≤ high ≤ 1")
    if kind == "implicit_negative" and "events" in source:
        events = source["events"]
        if not _names(events) or not events or not set(events) <= set(NEGATIVE_EVENTS):
            errors.append(
                f"{place}.events: must be a non-empty list of {', '.join(NEGATIVE_EVENTS)}"
            )
    return errors


def _checks_errors(place: str, kind: str, names: Any, checks: dict[str, Check] | None) -> list[str]:
    if names is None:
        return []
    if not _names(names) or not names:
        return [f"{place}.checks: must be a non-empty list of check names, or left out for all"]
    if checks is None:
        return []
    unknown = [name for name in names if name not in checks]
    if unknown:
        known = ", ".join(sorted(checks)) or "none yet"
        return [
            f"{place}.checks: {', '.join(repr(x) for x in unknown)} not configured in this "
            f"project; its checks are: {known}"
        ]
    if kind == "uncertain":
        rules = [name for name in names if checks[name].type not in EVALUATOR_TYPES]
        if rules:
            return [
                f"{place}.checks: {', '.join(repr(x) for x in rules)} are rule checks; uncertain "
                "samples evaluator scores (llm_judge, python checks)"
            ]
    return []


def parse_sources(sources: Sequence[dict[str, Any]]) -> list[Source]:
    """Sources that `sources_errors` accepted, with their defaults filled in."""
    parsed = []
    for source in sources:
        kind = source["type"]
        parsed.append(
            Source(
                type=kind,
                name=source.get("name", kind),
                rate=float(source.get("rate", 1.0)),
                seed=source.get("seed"),
                threshold=float(source.get("threshold", 0.4)),
                negative_labels=source.get("labels", True),
                checks=tuple(source.get("checks") or ()),
                min_severity=Severity.from_name(source.get("min_severity", "warning")),
                low=float(source.get("low", 0.4)),
                high=float(source.get("high", 0.6)),
                events=tuple(source.get("events") or NEGATIVE_EVENTS),
            )
        )
    return parsed


def filters_errors(filters: Any) -> list[str]:
    if not isinstance(filters, dict):
        return ['filters: must be an object, e.g. {"model_version": ["2026-10-01"]}']
    errors = [
        f"filters.{key}: unknown filter; use {', '.join(FILTER_KEYS)}"
        for key in filters
        if key not in FILTER_KEYS
    ]
    for key in LIST_FILTERS:
        if key in filters:
            value = filters[key]
            if not (isinstance(value, str) or (_names(value) and value)):
                errors.append(f"filters.{key}: must be a string or a non-empty list of strings")
    for key in ("since", "until"):
        if key in filters:
            errors.extend(_time_errors(key, filters[key]))
    if "last_hours" in filters:
        value = filters["last_hours"]
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 1 <= value <= MAX_LAST_HOURS
        ):
            errors.append(
                f"filters.last_hours: must be a whole number of hours from 1 to {MAX_LAST_HOURS} "
                "(ten years); leave it out for no limit"
            )
    if "metadata" in filters:
        metadata = filters["metadata"]
        if not isinstance(metadata, dict) or not metadata:
            errors.append(
                'filters.metadata: must be an object of key to value, e.g. {"locale": "en-GB"}'
            )
        else:
            for key, value in metadata.items():
                if not _META_KEY.match(key):
                    errors.append(
                        f"filters.metadata.{key}: keys use letters, digits and _ . : - only"
                    )
                if not isinstance(value, str | int | float | bool):
                    errors.append(f"filters.metadata.{key}: must be a string, number or true/false")
    return errors


def _time_errors(key: str, value: Any) -> list[str]:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # the right shape but no such day or time, e.g. 2026-02-30
        return [
            f"filters.{key}: {value!r} is not a date and time that exists; use e.g. "
            "2026-11-01T00:00:00Z"
        ]
    if parsed is None or parsed.tzinfo is None:
        return [
            f"filters.{key}: {value!r} is not an ISO 8601 time with a zone; use e.g. "
            "2026-11-01T00:00:00Z"
        ]
    if not EARLIEST_FILTER_TIME <= parsed <= LATEST_FILTER_TIME:
        return [f"filters.{key}: {value!r} is outside the years 2000 to 2100"]
    return []


def parse_filters(filters: dict[str, Any]) -> Filters:
    lists = {}
    for key in LIST_FILTERS:
        if key in filters:
            value = filters[key]
            lists[key] = (value,) if isinstance(value, str) else tuple(value)
    return Filters(
        lists=lists,
        since=parse_datetime(filters["since"]) if "since" in filters else None,
        until=parse_datetime(filters["until"]) if "until" in filters else None,
        last_hours=filters.get("last_hours"),
        metadata=dict(filters.get("metadata") or {}),
    )


def reason_names(sources: Any) -> list[str]:
    if not isinstance(sources, list):
        return []
    return [str(s.get("name", s.get("type"))) for s in sources if isinstance(s, dict)]


def priority_errors(priority: Any, sources: Any) -> list[str]:
    if not isinstance(priority, list) or not all(isinstance(x, str) for x in priority):
        return ['priority: must be a list of source names, most important first, e.g. ["flagged"]']
    names = reason_names(sources)
    unknown = [x for x in priority if x not in names]
    if unknown:
        return [
            f"priority: {', '.join(repr(x) for x in unknown)} not among the sources; use "
            f"{', '.join(map(str, names))}"
        ]
    if len(set(priority)) != len(priority):
        return ["priority: a source is listed twice; list each once"]
    return []


def priority_order(priority: Sequence[str], sources: Sequence[Source]) -> list[str]:
    """Reason names from most to least important: `priority` first, then the rest in order."""
    rest = [s.name for s in sources if s.name not in priority]
    return [*priority, *rest]


def queue_definition_errors(queue: Queue) -> dict[str, list[str]]:
    """Errors by model field for a queue about to be saved."""
    errors: dict[str, list[str]] = {}
    project = queue.project if queue.project_id else None
    checks = (
        {check.name: check for check in Check.objects.filter(project=project)}
        if project is not None
        else None
    )
    found = {
        "sources": sources_errors(queue.sources, checks=checks),
        "filters": filters_errors(queue.filters),
        "priority": priority_errors(queue.priority, queue.sources),
        "schema": schema_errors(queue.schema, taxonomy=project.label_names if project else []),
    }
    settle, overlap = queue.min_annotations_to_settle, queue.overlap
    if settle is not None and isinstance(overlap, int) and not 1 <= settle <= overlap:
        found["min_annotations_to_settle"] = [
            f"min_annotations_to_settle: {settle} is outside 1 to the overlap ({overlap}); give "
            "how many annotations settle an item that can no longer reach its overlap, or leave "
            "it empty for the overlap"
        ]
    guideline = queue.guideline if queue.guideline_id else None
    if guideline is not None and project is not None and guideline.project_id != project.pk:
        found["guideline"] = ["guideline: that guideline belongs to another project"]
    for key, messages in found.items():
        if messages:
            errors[key] = messages
    return errors
