"""Crafted interactions with exactly the signals each queue source looks for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from annotation.models import Check, Feedback, Flag, Interaction, Project
from tests.factories import InteractionFactory


def interaction(project: Project, request_id: str, **fields: Any) -> Interaction:
    return InteractionFactory(project=project, request_id=request_id, **fields)


def feedback(target: Interaction, kind: str, **fields: Any) -> Feedback:
    now = timezone.now()
    return Feedback.objects.create(
        project=target.project,
        interaction=target,
        request_id=target.request_id,
        kind=kind,
        timestamp=now,
        received_at=now,
        **fields,
    )


def rating(target: Interaction, score: float, scale: str = "stars5") -> Feedback:
    return feedback(target, "rating", value=score, scale=scale, normalized_score=score)


def label(target: Interaction, *labels: str) -> Feedback:
    return feedback(target, "label", labels=list(labels))


def implicit(target: Interaction, event: str) -> Feedback:
    return feedback(target, "implicit", event=event)


def flag(
    target: Interaction,
    check: Check,
    *,
    severity: int | None = None,
    score: float = 1.0,
    flagged: bool = True,
    at: datetime | None = None,
) -> Flag:
    return Flag.objects.create(
        project=target.project,
        interaction=target,
        check_config=check,
        flagged=flagged,
        severity=severity if severity is not None else check.severity,
        score=score,
        created_at=at or timezone.now(),
    )
