"""Pipeline triggers: create, change and delete them; every field checked here.

The export definition is checked as POST /api/v1/exports checks it, and the webhooks named
must be the project's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from annotation.errors import Conflict, Invalid
from annotation.models import Project, Trigger, Webhook
from annotation.models.audit import AuditAction
from annotation.schemas.export_request import (
    ExportRequestInvalid,
    parse_export_request,
    unstorable_text,
)
from annotation.selectors.exports import project_queue_ids
from annotation.services.audit import audit_record

FIELDS = ("project", "name", "export", "min_new_examples", "webhooks", "active")
MAX_MIN_EXAMPLES = 10_000_000
MAX_WEBHOOKS = 20


def trigger_create(
    *, project: Project, created_by: User | None, data: Mapping[str, Any]
) -> Trigger:
    """Validate and save a new trigger. Its watermark starts empty: the first evaluation
    counts every matching reviewed example."""
    _unknown_keys(data)
    for field in ("name", "export"):
        if field not in data:
            raise Invalid(f"{field}: required.", details={field: ["Required."]})
    trigger = Trigger(project=project, created_by=created_by)
    webhooks = _apply(trigger, data)
    try:
        with transaction.atomic():
            trigger.save()
            trigger.webhooks.set(webhooks or [])
    except IntegrityError:
        raise _name_taken(trigger) from None
    _audit(AuditAction.TRIGGER_CREATED, trigger, created_by)
    return trigger


def trigger_update(*, trigger: Trigger, data: Mapping[str, Any]) -> Trigger:
    """Change the fields given. A changed export definition keeps the watermark: examples
    already announced are not announced again."""
    _unknown_keys(data)
    if "project" in data and data["project"] != trigger.project.name:
        raise Invalid(
            "project: a trigger stays in its project.", details={"project": ["Cannot change."]}
        )
    webhooks = _apply(trigger, data)
    try:
        with transaction.atomic():
            trigger.save()
            if webhooks is not None:
                trigger.webhooks.set(webhooks)
    except IntegrityError:
        raise _name_taken(trigger) from None
    _audit(AuditAction.TRIGGER_CHANGED, trigger, None)
    return trigger


def trigger_delete(*, trigger: Trigger) -> None:
    """Delete a trigger and its run log (the exports it built stay)."""
    _audit(AuditAction.TRIGGER_DELETED, trigger, None)
    trigger.delete()


def _audit(action: str, trigger: Trigger, actor: User | None) -> None:
    # No actor: the audit log takes the person from the request being served.
    audit_record(
        actor=actor,
        action=action,
        project=trigger.project,
        target=f"trigger:{trigger.pk}",
        details={"name": trigger.name, "min_new_examples": trigger.min_new_examples},
    )


def _unknown_keys(data: Mapping[str, Any]) -> None:
    unknown = [str(k)[:40] for k in data if k not in FIELDS]
    if unknown:
        raise Invalid(
            f"Unknown field {unknown[0]!r}; a trigger has {', '.join(FIELDS)}.",
            details={k: ["Unknown field."] for k in unknown},
        )


def _apply(trigger: Trigger, data: Mapping[str, Any]) -> list[Webhook] | None:
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise Invalid("name: 1-100 characters.", details={"name": ["1-100 characters."]})
        if (problem := unstorable_text(name)) is not None:
            raise Invalid(f"name: {problem}.", details={"name": [problem]})
        trigger.name = name.strip()
    if "export" in data:
        trigger.export_request = _export_request(trigger.project, data["export"])
    if "min_new_examples" in data:
        value = data["min_new_examples"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(
                "min_new_examples: give a whole number.",
                details={"min_new_examples": ["Not an integer."]},
            )
        if not 1 <= value <= MAX_MIN_EXAMPLES:
            raise Invalid(
                f"min_new_examples: between 1 and {MAX_MIN_EXAMPLES:,}.",
                details={"min_new_examples": [f"Between 1 and {MAX_MIN_EXAMPLES}."]},
            )
        trigger.min_new_examples = value
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise Invalid("active: give true or false.", details={"active": ["Not a boolean."]})
        trigger.active = data["active"]
    if "webhooks" in data:
        return _webhooks(trigger.project, data["webhooks"])
    return None


def _export_request(project: Project, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(
            'export: give an export request like {"kind": "sft", "format": "jsonl"}.',
            details={"export": ["Must be an object (the body of POST /api/v1/exports)."]},
        )
    if "project" in value and value["project"] != project.name:
        raise Invalid(
            f"export.project: a trigger exports from its own project ({project.name}).",
            details={"export.project": [f"Use {project.name} or leave it out."]},
        )
    request = {k: v for k, v in value.items() if k != "project"}
    try:
        parse_export_request(request, queue_ids=project_queue_ids(project.pk))
    except ExportRequestInvalid as exc:
        raise Invalid(
            f"export.{exc.message}",
            code=exc.code,
            details={f"export.{e['field']}": [e["message"]] for e in exc.errors},
        ) from None
    return request


def _webhooks(project: Project, value: Any) -> list[Webhook]:
    if not isinstance(value, list) or len(value) > MAX_WEBHOOKS:
        raise Invalid(
            f"webhooks: give a list of up to {MAX_WEBHOOKS} webhook ids.",
            details={"webhooks": ["A list of webhook ids."]},
        )
    ids: list[int] = []
    for index, pk in enumerate(value):
        if isinstance(pk, bool) or not isinstance(pk, int):
            raise Invalid(
                f"webhooks[{index}]: give a webhook id (a number).",
                details={"webhooks": {str(index): ["Not an id."]}},
            )
        ids.append(pk)
    found = {w.pk: w for w in Webhook.objects.filter(project=project, pk__in=ids)}
    for index, pk in enumerate(ids):
        if pk not in found:
            raise Invalid(
                f"webhooks[{index}]: no webhook {pk} in project {project.name}.",
                code="unknown_webhook",
                details={"webhooks": {str(index): [f"No webhook {pk} in this project."]}},
            )
    return [found[pk] for pk in dict.fromkeys(ids)]


def _name_taken(trigger: Trigger) -> Conflict:
    return Conflict(
        f"name: project {trigger.project.name} already has a trigger named {trigger.name!r}.",
        code="name_taken",
        details={"name": ["Taken in this project."]},
    )
