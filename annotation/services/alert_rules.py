"""Creating, changing and deleting alert rules: every reference checked against the rule's project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.alerts.spec import RuleErrors, RuleInput, parse_rule
from annotation.errors import Conflict, Invalid
from annotation.models import Alert, AlertRule, AlertState, Check, Project, Trigger, Webhook
from annotation.models.audit import AuditAction
from annotation.selectors.alerts import alert_rule_data
from annotation.services.alert_state import alert_resolve
from annotation.services.audit import audit_record


def _invalid(errors: dict[str, list[str]]) -> Invalid:
    first = next(iter(errors))
    return Invalid(f"{first}: {errors[first][0]}", details=errors)


def _check(project: Project, raw: str | int | None) -> Check | None:
    if raw is None:
        return None
    checks = Check.objects.filter(project=project)
    found = (
        checks.filter(pk=raw).first()
        if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit())
        else checks.filter(name=raw).first()
    )
    if found is None:
        raise _invalid(
            {
                "check": [
                    f"No check {str(raw)[:60]!r} in project {project.name}; send one of its checks."
                ]
            }
        )
    return found


def _owned(
    project: Project, model: type[Webhook] | type[Trigger], ids: list[int], field: str
) -> list[Any]:
    found = list(model.objects.filter(project=project, pk__in=ids))
    missing = sorted(set(ids) - {item.pk for item in found})
    if missing:
        raise _invalid(
            {field: [f"No {field[:-1]} {', '.join(map(str, missing))} in project {project.name}."]}
        )
    return found


def _parse(project: Project, body: Mapping[str, Any], rule: AlertRule | None) -> RuleInput:
    try:
        spec = parse_rule(body)
    except RuleErrors as error:
        raise _invalid(error.errors) from None
    clash = AlertRule.objects.filter(project=project, name=spec.name)
    if rule is not None:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise Conflict(
            f"name: project {project.name} has a rule named {spec.name!r}; choose another name.",
            code="name_taken",
            details={"name": ["Another rule of the project has this name."]},
        )
    return spec


def _apply(
    rule: AlertRule, spec: RuleInput, project: Project
) -> tuple[list[Webhook], list[Trigger]]:
    rule.check_config = _check(project, spec.check)
    webhooks = _owned(project, Webhook, spec.webhooks, "webhooks")
    triggers = _owned(project, Trigger, spec.triggers, "triggers")
    rule.name = spec.name
    rule.metric = spec.metric
    rule.filters = spec.filters
    rule.min_severity = spec.min_severity
    rule.window_minutes = spec.window_minutes
    rule.baseline_minutes = spec.baseline_minutes
    rule.condition_type = spec.condition_type
    rule.condition_value = spec.condition_value
    rule.direction = spec.direction
    rule.min_count = spec.min_count
    rule.cooldown_minutes = spec.cooldown_minutes
    rule.active = spec.active
    return webhooks, triggers


@transaction.atomic
def alert_rule_create(*, project: Project, user: Any, body: Mapping[str, Any]) -> AlertRule:
    """Create a rule from its API shape (400 naming each wrong field)."""
    spec = _parse(project, body, None)
    rule = AlertRule(project=project, created_by=user if getattr(user, "pk", None) else None)
    webhooks, triggers = _apply(rule, spec, project)
    rule.save()
    rule.webhooks.set(webhooks)
    rule.triggers.set(triggers)
    _audit(AuditAction.ALERT_RULE_CREATED, rule, user)
    return rule


def _audit(action: str, rule: AlertRule, user: Any) -> None:
    audit_record(
        actor=user if getattr(user, "pk", None) else None,
        action=action,
        project=rule.project,
        target=f"alert_rule:{rule.pk}",
        details={"name": rule.name, "metric": rule.metric, "active": rule.active},
    )


@transaction.atomic
def alert_rule_update(*, rule: AlertRule, user: Any, changes: Mapping[str, Any]) -> AlertRule:
    """Change some fields of a rule (the rest as they are); a rule switched off resolves its
    firing alert (announced like any resolution)."""
    current = alert_rule_data(rule)
    merged = {
        key: current[key]
        for key in current
        if key not in ("id", "project", "created_at", "updated_at", "last_evaluated_at")
    }
    merged.update(changes)
    if "metric" in changes and changes.get("metric") != "flag_rate" and "check" not in changes:
        merged["check"] = None
        merged["min_severity"] = None
    spec = _parse(rule.project, merged, rule)
    webhooks, triggers = _apply(rule, spec, rule.project)
    rule.save()
    rule.webhooks.set(webhooks)
    rule.triggers.set(triggers)
    if not rule.active:
        for alert in Alert.objects.filter(rule=rule, state=AlertState.FIRING):
            alert_resolve(
                alert=alert, now=timezone.now(), details={"reason": "the rule was switched off"}
            )
    _audit(AuditAction.ALERT_RULE_CHANGED, rule, user)
    return rule


@transaction.atomic
def alert_rule_delete(*, rule: AlertRule, user: Any) -> None:
    """Delete a rule and its alerts."""
    _audit(AuditAction.ALERT_RULE_DELETED, rule, user)
    rule.delete()
