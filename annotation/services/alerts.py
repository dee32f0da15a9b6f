"""Evaluating every active alert rule: one tick, as Celery beat runs it each minute.

Rules are grouped by project; each project's rollups are read once for the longest span its
rules need (`annotation.selectors.alert_rollups`) and every rule is evaluated over them
(`annotation.alerts.conditions`). A rule whose condition starts to hold fires an alert, unless
it is in its cooldown (`cooldown_minutes` after its last resolution); a firing alert resolves
when the condition no longer holds (too few observations included). After the commit, each
transition is announced to the rule's webhooks (`alert.fired` / `alert.resolved`) and a firing
starts the rule's pipeline triggers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from annotation.alerts.conditions import Evaluation, Rule, evaluate
from annotation.alerts.windows import HOUR, Spans, rule_spans
from annotation.models import Alert, AlertRule, AlertState
from annotation.selectors.alert_rollups import RollupCube, rollup_cube
from annotation.services.alert_state import alert_fire, alert_resolve
from annotation.services.locks import session_lock

logger = logging.getLogger(__name__)
# pg_try_advisory_lock(namespace, 0): one evaluation tick at a time (beat and the command).
_LOCK_NAMESPACE = 0x414C5254  # "ALRT"


@dataclass
class TickResult:
    rules: int = 0
    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: bool = False


def rule_of(rule: AlertRule) -> Rule:
    return Rule(
        metric=rule.metric,
        condition=rule.condition_type,
        value=rule.condition_value,
        direction=rule.direction,
        min_count=rule.min_count,
    )


def rule_evaluate(rule: AlertRule, cube: RollupCube, spans: Spans) -> Evaluation:
    """One rule's evaluation over its project's loaded rollups."""
    hourly = cube.hourly(
        rule.filters,
        check_id=rule.check_config_id if rule.metric == "flag_rate" else None,
        min_severity=rule.min_severity,
        reviews=rule.metric == "reviewed_bad_rate",
    )
    return evaluate(rule_of(rule), hourly, spans)


def _in_cooldown(rule: AlertRule, last_resolved: datetime | None, now: datetime) -> bool:
    return last_resolved is not None and now < last_resolved + timedelta(
        minutes=rule.cooldown_minutes
    )


def _transition(
    rule: AlertRule,
    evaluation: Evaluation,
    open_alert: Alert | None,
    last_resolved: dict[int, datetime],
    now: datetime,
    result: TickResult,
) -> None:
    if evaluation.holds and open_alert is None:
        if _in_cooldown(rule, last_resolved.get(rule.pk), now):
            return
        alert = alert_fire(rule=rule, evaluation=evaluation, now=now)
        if alert is not None:
            result.fired.append(alert.pk)
    elif (
        not evaluation.holds
        and open_alert is not None
        and alert_resolve(alert=open_alert, now=now, details=evaluation.details())
    ):
        result.resolved.append(open_alert.pk)


def alerts_evaluate(*, now: datetime | None = None) -> TickResult:
    """Evaluate every active rule once: fire, resolve, announce (after commit); stamps
    `last_evaluated_at`. Skips the tick if another one holds the lock (PostgreSQL)."""
    now = now or timezone.now()
    result = TickResult()
    with session_lock(_LOCK_NAMESPACE, 0) as locked:
        if locked is False:
            result.skipped = True
            return result
        rules = list(AlertRule.objects.filter(active=True).order_by("project_id", "pk"))
        if not rules:
            return result
        ids = [rule.pk for rule in rules]
        firing = {
            alert.rule_id: alert
            for alert in Alert.objects.filter(rule_id__in=ids, state=AlertState.FIRING)
        }
        last_resolved = dict(
            Alert.objects.filter(rule_id__in=ids, state=AlertState.RESOLVED)
            .values("rule_id")
            .annotate(last=Max("resolved_at"))
            .values_list("rule_id", "last")
        )
        by_project: dict[int, list[AlertRule]] = defaultdict(list)
        for rule in rules:
            by_project[rule.project_id].append(rule)
        for project_id, project_rules in by_project.items():
            spans = {
                rule.pk: rule_spans(now, rule.window_minutes, rule.baseline_minutes)
                for rule in project_rules
            }
            start = min(span.baseline_start for span in spans.values())
            until = max(span.last_hour for span in spans.values()) + HOUR
            flag_rules = [r for r in project_rules if r.metric == "flag_rate"]
            cube = rollup_cube(
                project_id=project_id,
                start=start,
                until=until,
                dims={dim for rule in project_rules for dim in rule.filters},
                check_ids=[r.check_config_id for r in flag_rules if r.check_config_id],
                min_severity=min((r.min_severity for r in flag_rules), default=0),
                reviews=any(r.metric == "reviewed_bad_rate" for r in project_rules),
            )
            for rule in project_rules:
                try:
                    evaluation = rule_evaluate(rule, cube, spans[rule.pk])
                except Exception:
                    # A rule stored in a shape the evaluation cannot read must not silence the
                    # others: log it and go on.
                    logger.exception("evaluating alert rule %s failed", rule.pk)
                    result.failed.append(rule.pk)
                    continue
                _transition(rule, evaluation, firing.get(rule.pk), last_resolved, now, result)
        AlertRule.objects.filter(pk__in=ids).update(last_evaluated_at=now)
        result.rules = len(rules)
    if result.fired or result.resolved:
        logger.info(
            "alerts: %d rules, fired %s, resolved %s", result.rules, result.fired, result.resolved
        )
    return result
