"""An alert's two transitions, firing and resolving, each announced after its commit.

Apart from the evaluation (`annotation.services.alerts`) so that the web process, which resolves
the alert of a rule switched off, never loads the evaluation's numpy arrays.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from annotation.models import Alert, AlertRule, AlertState
from annotation.selectors.alerts import alert_payload
from annotation.services.deliveries import deliveries_enqueue
from annotation.services.triggers import trigger_run

if TYPE_CHECKING:
    from annotation.alerts.conditions import Evaluation


def _announce(alert_id: int) -> None:
    alert = Alert.objects.select_related("rule", "rule__project", "rule__check_config").get(
        pk=alert_id
    )
    rule = alert.rule
    event, payload = alert_payload(alert)
    deliveries_enqueue(webhooks=rule.webhooks.all(), event=event, payload=payload)
    if alert.state == AlertState.FIRING:
        for trigger in rule.triggers.all():
            trigger_run(trigger, reason="alert", alert=alert)


def alert_fire(*, rule: AlertRule, evaluation: Evaluation, now: datetime) -> Alert | None:
    """Open a firing alert for the rule and announce it after commit; None if one is open."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                state=AlertState.FIRING,
                fired_at=now,
                value=evaluation.value,
                baseline=evaluation.baseline,
                count=evaluation.count,
                ci_low=evaluation.ci95[0] if evaluation.ci95 else None,
                ci_high=evaluation.ci95[1] if evaluation.ci95 else None,
                window_start=evaluation.window_start,
                window_end=evaluation.window_end,
                details={"fired": evaluation.details()},
            )
            transaction.on_commit(lambda: _announce(alert.pk), robust=True)
    except IntegrityError:
        # Another evaluation fired it first (the one-firing-alert-per-rule constraint).
        return None
    return alert


def alert_resolve(*, alert: Alert, now: datetime, details: dict[str, Any]) -> bool:
    """Resolve a firing alert and announce it after commit; False if it was no longer firing."""
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, state=AlertState.FIRING).update(
            state=AlertState.RESOLVED,
            resolved_at=now,
            details={**alert.details, "resolved": details},
        )
        if done:
            transaction.on_commit(lambda: _announce(alert.pk), robust=True)
    return bool(done)
