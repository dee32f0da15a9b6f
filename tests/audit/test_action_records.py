"""Changes to alert rules, webhooks, triggers, check switches and privacy settings are audited."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import AuditEvent, Project
from annotation.models.audit import AuditAction
from annotation.services.alert_rules import alert_rule_create, alert_rule_delete, alert_rule_update
from annotation.services.check_state import check_set_enabled
from annotation.services.privacy_settings import privacy_settings_update
from annotation.services.trigger_config import trigger_create, trigger_delete, trigger_update
from annotation.services.webhooks import webhook_create, webhook_delete, webhook_update
from tests.conftest import Persona
from tests.factories import CheckFactory


def _actions(project: Project, target_type: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(project=project, target_type=target_type)
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_an_alert_rule_is_audited_through_its_life(project: Project, lead: Persona) -> None:
    body = {
        "name": "spike",
        "metric": "negative_feedback_rate",
        "window_minutes": 60,
        "baseline_minutes": 1440,
        "condition": {"type": "threshold", "value": 0.3},
    }
    rule = alert_rule_create(project=project, user=lead.user, body=body)
    alert_rule_update(rule=rule, user=lead.user, changes={"min_count": 5})
    alert_rule_delete(rule=rule, user=lead.user)

    assert _actions(project, "alert_rule") == [
        AuditAction.ALERT_RULE_CREATED,
        AuditAction.ALERT_RULE_CHANGED,
        AuditAction.ALERT_RULE_DELETED,
    ]
    assert AuditEvent.objects.filter(actor=lead.user, target_type="alert_rule").count() == 3


def test_webhooks_and_triggers_are_audited(project: Project, lead: Persona, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, _ = webhook_create(
        project=project, created_by=lead.user, data={"name": "ci", "url": "http://127.0.0.1:9/h"}
    )
    webhook_update(webhook=webhook, data={"name": "ci-2"})
    trigger = trigger_create(
        project=project,
        created_by=lead.user,
        data={"name": "nightly", "export": {"kind": "sft", "format": "jsonl"}},
    )
    trigger_update(trigger=trigger, data={"min_new_examples": 10})
    trigger_delete(trigger=trigger)
    webhook_delete(webhook=webhook)

    assert _actions(project, "webhook") == [
        AuditAction.WEBHOOK_CREATED,
        AuditAction.WEBHOOK_CHANGED,
        AuditAction.WEBHOOK_DELETED,
    ]
    assert _actions(project, "trigger") == [
        AuditAction.TRIGGER_CREATED,
        AuditAction.TRIGGER_CHANGED,
        AuditAction.TRIGGER_DELETED,
    ]


@pytest.mark.django_db
def test_switching_a_check_and_changing_privacy_settings_are_audited(project: Project) -> None:
    check = CheckFactory(project=project)
    check_set_enabled(check=check, enabled=False)
    privacy_settings_update(project=project, data={"retention_days": 30})

    assert _actions(project, "check") == [AuditAction.CHECK_CHANGED]
    assert _actions(project, "project") == [AuditAction.PRIVACY_SETTINGS_CHANGED]
