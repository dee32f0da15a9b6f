"""An alert rule as the API and the lead's form send it, checked field by field.

`parse_rule` returns the rule's settings or the errors per field (`{"window_minutes": ["..."]}`),
each saying what to send instead; names of checks, webhooks and triggers are resolved against the
project by `annotation.services.alert_rules`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from annotation.alerts.metrics import CONDITIONS, METRIC_COUNTERS, RATES
from annotation.insights.query import DIMENSIONS, MAX_FILTER_VALUES

METRICS = tuple(METRIC_COUNTERS)
MAX_WINDOW_MINUTES = 30 * 24 * 60
MAX_BASELINE_MINUTES = 90 * 24 * 60
MAX_COOLDOWN_MINUTES = 30 * 24 * 60
MAX_MIN_COUNT = 10_000_000
MAX_REFERENCES = 20
SEVERITIES = {"info": 10, "warning": 20, "critical": 30}
FIELDS = (
    "name",
    "metric",
    "filters",
    "check",
    "min_severity",
    "window_minutes",
    "baseline_minutes",
    "condition",
    "min_count",
    "cooldown_minutes",
    "webhooks",
    "triggers",
    "active",
)
DEFAULTS: dict[str, Any] = {
    "filters": {},
    "check": None,
    "min_severity": None,
    "window_minutes": 60,
    "baseline_minutes": 1440,
    "min_count": 20,
    "cooldown_minutes": 60,
    "webhooks": [],
    "triggers": [],
    "active": True,
}


@dataclass
class RuleInput:
    name: str = ""
    metric: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    check: str | int | None = None
    min_severity: int = 0
    window_minutes: int = 60
    baseline_minutes: int = 1440
    condition_type: str = "threshold"
    condition_value: float = 0.0
    direction: str = "above"
    min_count: int = 20
    cooldown_minutes: int = 60
    webhooks: list[int] = field(default_factory=list)
    triggers: list[int] = field(default_factory=list)
    active: bool = True


class RuleErrors(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _integer(
    errors: dict[str, list[str]], name: str, raw: Any, low: int, high: int, unit: str = ""
) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        errors[name] = [f"Send a whole number{unit} between {low:,} and {high:,}."]
        return low
    try:
        number = float(raw)
    except ValueError:
        errors[name] = [f"{str(raw)[:40]!r} is not a number; send a whole number{unit}."]
        return low
    if not math.isfinite(number) or number != int(number):
        errors[name] = [f"Send a whole number{unit}, not {str(raw)[:40]}."]
        return low
    if not low <= number <= high:
        errors[name] = [f"Must be between {low:,} and {high:,}{unit}; got {int(number):,}."]
        return low
    return int(number)


def _references(errors: dict[str, list[str]], name: str, raw: Any) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_REFERENCES:
        errors[name] = [f"Send a list of at most {MAX_REFERENCES} {name} ids."]
        return []
    ids = []
    for position, item in enumerate(raw):
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            errors[name] = [f"Item {position} ({str(item)[:40]!r}) is not a {name[:-1]} id."]
            return []
        ids.append(item)
    return list(dict.fromkeys(ids))


def _filters(errors: dict[str, list[str]], raw: Any) -> dict[str, list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors["filters"] = [
            'Send an object of dimension to values, e.g. {"model_version": ["1.4.0"]}.'
        ]
        return {}
    out: dict[str, list[str]] = {}
    for dimension, values in raw.items():
        if dimension not in DIMENSIONS:
            errors[f"filters.{str(dimension)[:40]}"] = [
                f"Unknown dimension; use one of {', '.join(DIMENSIONS)}."
            ]
            continue
        if isinstance(values, str):
            values = [values]
        if (
            not isinstance(values, list)
            or not 1 <= len(values) <= MAX_FILTER_VALUES
            or not all(isinstance(v, str) and len(v) <= 255 for v in values)
        ):
            errors[f"filters.{dimension}"] = [
                f"Send 1 to {MAX_FILTER_VALUES} values, each text of at most 255 characters."
            ]
            continue
        out[dimension] = list(dict.fromkeys(values))
    return out


def _condition(errors: dict[str, list[str]], raw: Any, rule: RuleInput) -> None:
    if not isinstance(raw, dict):
        errors["condition"] = [
            'Send an object, e.g. {"type": "threshold", "value": 0.3} '
            f"(type: one of {', '.join(CONDITIONS)})."
        ]
        return
    kind = raw.get("type")
    if kind not in CONDITIONS:
        errors["condition.type"] = [
            f"Unknown condition type {str(kind)[:40]!r}; use one of {', '.join(CONDITIONS)}."
        ]
        return
    rule.condition_type = kind
    direction = raw.get("direction") or ("below" if rule.metric == "mean_rating" else "above")
    if direction not in ("above", "below"):
        errors["condition.direction"] = ['Use "above" or "below".']
        return
    rule.direction = direction
    value = raw.get("value")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors["condition.value"] = [f"{str(value)[:40]!r} is not a number; send a number."]
        return
    value = float(value)
    bounded = rule.metric in RATES or rule.metric == "mean_rating"
    if kind == "threshold" and bounded and not 0 <= value <= 1:
        errors["condition.value"] = [f"{rule.metric} lies between 0 and 1; send a threshold there."]
    elif kind == "threshold" and rule.metric == "volume" and value < 0:
        errors["condition.value"] = ["Volume is never negative; send a threshold of 0 or more."]
    elif kind == "relative_increase" and not (0 < value <= 1000):
        errors["condition.value"] = [
            "Send the relative change as a fraction above 0, e.g. 0.5 for +50%."
        ]
    elif kind == "relative_increase" and direction == "below" and value >= 1:
        errors["condition.value"] = ["A fall below the baseline is under 1 (0.5 for -50%)."]
    elif kind == "zscore" and not (0 < value <= 100):
        errors["condition.value"] = ["Send the z-score to exceed, above 0 (e.g. 3)."]
    rule.condition_value = value


def parse_rule(body: Mapping[str, Any]) -> RuleInput:
    """Every field of a rule, checked; raises RuleErrors naming each field that is wrong."""
    errors: dict[str, list[str]] = {}
    rule = RuleInput()
    unknown = sorted(set(body) - set(FIELDS) - {"project"})
    for unknown_name in unknown[:5]:
        errors[str(unknown_name)[:40]] = [f"Unknown field; rules take {', '.join(FIELDS)}."]
    values = {**DEFAULTS, **{k: v for k, v in body.items() if v is not None or k == "check"}}

    name = values.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors["name"] = ["Send a name of 1 to 100 characters."]
    else:
        rule.name = name.strip()
    metric = values.get("metric")
    if metric not in METRICS:
        errors["metric"] = [
            f"Unknown metric {str(metric)[:40]!r}; use one of {', '.join(METRICS)}."
        ]
    else:
        rule.metric = metric
    rule.filters = _filters(errors, values.get("filters"))
    check = values.get("check")
    if rule.metric == "flag_rate":
        if check in (None, ""):
            errors["check"] = ["A flag_rate rule needs the check it watches: send its name or id."]
        elif (
            isinstance(check, bool)
            or not isinstance(check, (int, str))
            or (isinstance(check, str) and len(check) > 100)
        ):
            errors["check"] = ["Send the check's name or id."]
        else:
            rule.check = check
    elif check not in (None, ""):
        errors["check"] = ["Only flag_rate rules name a check; leave it out."]
    severity = values.get("min_severity")
    if severity not in (None, ""):
        if severity in SEVERITIES:
            rule.min_severity = SEVERITIES[severity]
        elif severity in SEVERITIES.values() and not isinstance(severity, bool):
            rule.min_severity = int(severity)
        else:
            errors["min_severity"] = [f"Use one of {', '.join(SEVERITIES)}."]
        if rule.metric and rule.metric != "flag_rate":
            errors["min_severity"] = ["Only flag_rate rules take a minimum severity."]

    rule.window_minutes = _integer(
        errors, "window_minutes", values.get("window_minutes"), 1, MAX_WINDOW_MINUTES, " of minutes"
    )
    rule.baseline_minutes = _integer(
        errors,
        "baseline_minutes",
        values.get("baseline_minutes"),
        1,
        MAX_BASELINE_MINUTES,
        " of minutes",
    )
    if (
        "window_minutes" not in errors
        and "baseline_minutes" not in errors
        and rule.baseline_minutes < rule.window_minutes
    ):
        errors["baseline_minutes"] = [
            f"The baseline ({rule.baseline_minutes} minutes) is shorter than the window "
            f"({rule.window_minutes}); send baseline_minutes of at least {rule.window_minutes}."
        ]
    rule.min_count = _integer(errors, "min_count", values.get("min_count"), 0, MAX_MIN_COUNT)
    rule.cooldown_minutes = _integer(
        errors,
        "cooldown_minutes",
        values.get("cooldown_minutes"),
        0,
        MAX_COOLDOWN_MINUTES,
        " of minutes",
    )
    if "metric" not in errors:
        _condition(errors, values.get("condition"), rule)
    if (
        rule.condition_type == "zscore"
        and "condition.type" not in errors
        and "window_minutes" not in errors
        and "baseline_minutes" not in errors
    ):
        bucket = math.ceil(rule.window_minutes / 60)
        if math.ceil(rule.baseline_minutes / 60) // bucket < 2:
            errors["baseline_minutes"] = [
                "A zscore condition needs at least two baseline buckets as long as the window "
                f"(whole hours); send baseline_minutes of at least {2 * bucket * 60}."
            ]
    rule.webhooks = _references(errors, "webhooks", values.get("webhooks"))
    rule.triggers = _references(errors, "triggers", values.get("triggers"))
    active = values.get("active")
    if not isinstance(active, bool):
        errors["active"] = ["Send true or false."]
    else:
        rule.active = active
    if errors:
        raise RuleErrors(errors)
    return rule
