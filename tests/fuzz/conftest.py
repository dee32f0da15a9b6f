"""A project with something behind every endpoint, for the schema fuzzer.

One project with a lead, an engineer, two annotators and an ingestion key; interactions with
low ratings; a queue filled from them (one item annotated by both annotators, who disagree, so
it waits for adjudication; one item leased to the first annotator); a guideline; the rule
checks; an agreement report; and a finished export with a file to download.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from annotation.models import AgreementReport, Check, Export, Project, Role
from annotation.models.review import Queue, QueueFill
from annotation.services.agreement import agreement_request
from annotation.services.annotations import annotation_submit
from annotation.services.exports import export_create, export_run
from annotation.services.guidelines import guideline_publish
from annotation.services.leasing import lease_next
from annotation.services.projects import member_upsert, project_create
from annotation.services.queues import queue_create, queue_fill_now
from tests.factories import REVIEW_SCHEMA, FeedbackFactory, InteractionFactory


@dataclass
class World:
    project: Project
    headers: dict[str, dict[str, str]]
    queue: Queue
    fill: QueueFill
    check: Check
    export: Export
    report: AgreementReport
    request_ids: list[str]
    # Real ids for each path parameter of the API; the fuzzer uses them half of the time.
    path_ids: dict[str, list[Any]] = field(default_factory=dict)


def _token(project: Project, username: str, role: Role) -> tuple[Any, str]:
    created = member_upsert(username=username, project=project, role=role)
    return created.obj.user, created.secret


@pytest.fixture
def world(db: Any, settings: Any, tmp_path: Path) -> World:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    created = project_create(name="support-bot")
    project = created.obj.project
    lead, lead_token = _token(project, "lead", Role.LEAD)
    _, engineer_token = _token(project, "engineer", Role.ENGINEER)
    ann1, ann1_token = _token(project, "ann1", Role.ANNOTATOR)
    ann2, _ = _token(project, "ann2", Role.ANNOTATOR)
    # The schema's examples name four annotators.
    _token(project, "ann3", Role.ANNOTATOR)
    _token(project, "ann4", Role.ANNOTATOR)

    start = timezone.now() - timedelta(hours=2)
    interactions = [
        InteractionFactory(
            project=project,
            request_id=f"req-{n}",
            timestamp=start + timedelta(minutes=n),
            received_at=start + timedelta(minutes=n),
        )
        for n in range(6)
    ]
    for interaction in interactions:
        FeedbackFactory(interaction=interaction, value=0.0, normalized_score=0.0)

    guideline_publish(project=project, text="# Verdict\n\nMark wrong answers bad.")
    queue = queue_create(
        project=project,
        name="weekly",
        sources=[{"type": "low_rated", "threshold": 0.4}],
        schema=REVIEW_SCHEMA,
        annotators=[ann1, ann2],
        overlap=2,
        seed=7,
        created_by=lead,
    )
    fill = queue_fill_now(queue=queue, requested_by=lead)

    # Both annotators judge the first item and disagree: it waits for the lead.
    first = lease_next(queue=queue, annotator=ann1)
    assert first is not None
    annotation = annotation_submit(
        item_id=first.item.pk, annotator=ann1, values={"verdict": "good"}
    )
    second = lease_next(queue=queue, annotator=ann2)
    assert second is not None and second.item.pk == first.item.pk
    annotation_submit(item_id=second.item.pk, annotator=ann2, values={"verdict": "bad"})
    # The first annotator holds a lease on another item.
    held = lease_next(queue=queue, annotator=ann1)
    assert held is not None

    report = agreement_request(queue=queue, requested_by=lead, resamples=0)
    export = export_create(
        project=project,
        created_by=lead,
        data={"project": project.name, "kind": "sft"},
        enqueue=False,
    )
    export_run(export_id=export.pk)
    export.refresh_from_db()
    check = Check.objects.filter(project=project).order_by("pk").first()
    assert check is not None

    request_ids = [i.request_id for i in interactions]
    return World(
        project=project,
        headers={
            "lead": {"Authorization": f"Token {lead_token}"},
            "engineer": {"Authorization": f"Token {engineer_token}"},
            "annotator": {"Authorization": f"Token {ann1_token}"},
            "ingestion_key": {"Authorization": f"Bearer {created.secret}"},
        },
        queue=queue,
        fill=fill,
        check=check,
        export=export,
        report=report,
        request_ids=request_ids,
        path_ids={
            "queue_id": [queue.pk],
            "fill_id": [fill.pk],
            "item_id": [first.item.pk, held.item.pk],
            "annotation_id": [annotation.pk],
            "check_id": [check.pk],
            "export_id": [export.pk],
            "report_id": [report.pk],
            "request_id": request_ids[:2],
            **_action_ids(project),
            **_alert_ids(project),
            **_tool_ids(project, lead),
        },
    )


def _action_ids(project: Project) -> dict[str, list[Any]]:
    """A webhook with a delivery, and a trigger that names it."""
    from django.conf import settings as django_settings

    from annotation.models import Trigger, Webhook, WebhookDelivery
    from annotation.outbound.sealing import seal

    webhook = Webhook.objects.create(
        project=project,
        name="ci",
        url="https://ci.example.com/hook",
        secret_sealed=seal("whsec_fuzz-secret-0123456789", django_settings.WEBHOOK_SECRETS_KEYS),
    )
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="alert.fired", status="failed")
    trigger = Trigger.objects.create(
        project=project, name="nightly", export_request={"kind": "sft"}
    )
    trigger.webhooks.add(webhook)
    return {"webhook_id": [webhook.pk], "delivery_id": [delivery.pk], "trigger_id": [trigger.pk]}


def _tool_ids(project: Project, lead: Any) -> dict[str, list[Any]]:
    """An export preset, and a spare key and token (revoking them leaves the callers' own)."""
    from annotation.models import ExportPreset
    from annotation.services.projects import api_token_create, project_key_create

    preset = ExportPreset.objects.create(
        project=project, name="sft", request={"kind": "sft"}, created_by=lead
    )
    key = project_key_create(project=project, name="spare").obj
    token = api_token_create(user=lead, name="spare").obj
    return {"preset_id": [preset.pk], "key_id": [key.pk], "token_id": [token.pk]}


def _alert_ids(project: Project) -> dict[str, list[Any]]:
    """An alert rule with a fired alert."""
    from annotation.models import Alert, AlertRule

    rule = AlertRule.objects.create(
        project=project, name="spike", metric="negative_feedback_rate", condition_value=0.3
    )
    fired = timezone.now() - timedelta(minutes=5)
    alert = Alert.objects.create(
        rule=rule, fired_at=fired, window_start=fired - timedelta(hours=1), window_end=fired
    )
    return {"rule_id": [rule.pk], "alert_id": [alert.pk]}
