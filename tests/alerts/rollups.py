"""Rollup rows written directly: the evaluation reads only these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from annotation.models import AlertRule, FlagRollup, Project, ReviewRollup, SliceRollup

NOW = datetime(2026, 11, 20, 10, 20, tzinfo=UTC)
SLICE = {
    "model": "gpt-x",
    "model_version": "1.4.0",
    "prompt_template": "support",
    "prompt_template_version": "1",
    "experiment": "",
    "variant": "",
}


def hour(offset: int) -> datetime:
    """The hour `offset` hours from NOW's hour (0: 10:00, -1: 09:00)."""
    return NOW.replace(minute=0) + timedelta(hours=offset)


def put(project: Project, offset: int, **counters: Any) -> SliceRollup:
    """Set one hour's slice rollup (model_version etc. from `SLICE` unless given)."""
    dims = {key: counters.pop(key) for key in list(counters) if key in SLICE}
    row, _ = SliceRollup.objects.update_or_create(
        project=project, hour=hour(offset), **{**SLICE, **dims}, defaults=counters
    )
    return row


def put_flags(project: Project, offset: int, check_id: int, severity: int, flagged: int) -> None:
    FlagRollup.objects.update_or_create(
        project=project,
        hour=hour(offset),
        check_config_id=check_id,
        severity=severity,
        **SLICE,
        defaults={"flagged": flagged},
    )


def put_reviews(project: Project, offset: int, queue_id: int, **sums: Any) -> None:
    ReviewRollup.objects.update_or_create(
        project=project, hour=hour(offset), queue_id=queue_id, **SLICE, defaults=sums
    )


def make_rule(project: Project, **fields: Any) -> AlertRule:
    values: dict[str, Any] = {
        "name": "spike",
        "metric": "negative_feedback_rate",
        "window_minutes": 60,
        "baseline_minutes": 1440,
        "condition_type": "threshold",
        "condition_value": 0.25,
        "min_count": 20,
        "cooldown_minutes": 60,
    }
    values.update(fields)
    return AlertRule.objects.create(project=project, **values)
