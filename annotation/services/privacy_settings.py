"""Changing a project's privacy settings (leads: the privacy page, the API, the admin)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from annotation.errors import Invalid
from annotation.models import PrivacyMode, Project
from annotation.models.audit import AuditAction
from annotation.services.audit import audit_record

MAX_RETENTION_DAYS = 36500
SETTINGS_FIELDS = ("privacy_mode", "retention_days", "keep_reviewed")


def privacy_settings_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """The settings in `data`, checked; Invalid naming every bad field and what to send."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - {*SETTINGS_FIELDS, "project"})
    for name in unknown:
        errors[name] = [f"Unknown setting; send {', '.join(SETTINGS_FIELDS)}."]
    clean: dict[str, Any] = {}
    if "privacy_mode" in data:
        mode = data["privacy_mode"]
        if mode not in PrivacyMode.values:
            errors["privacy_mode"] = [f"Use one of: {', '.join(PrivacyMode.values)}."]
        else:
            clean["privacy_mode"] = mode
    if "retention_days" in data:
        days = data["retention_days"]
        if days is None or days == "":
            clean["retention_days"] = None
        elif isinstance(days, bool) or not isinstance(days, int | str):
            errors["retention_days"] = [_days_message()]
        else:
            try:
                value = int(days)
            except ValueError:
                errors["retention_days"] = [_days_message()]
            else:
                if not 1 <= value <= MAX_RETENTION_DAYS:
                    errors["retention_days"] = [_days_message()]
                else:
                    clean["retention_days"] = value
    if "keep_reviewed" in data:
        keep = data["keep_reviewed"]
        if not isinstance(keep, bool):
            errors["keep_reviewed"] = ["Send true or false."]
        else:
            clean["keep_reviewed"] = keep
    if errors:
        raise Invalid(
            "Some privacy settings are not valid: "
            + "; ".join(f"{name}: {messages[0]}" for name, messages in errors.items()),
            code="invalid_settings",
            details=errors,
        )
    return clean


def _days_message() -> str:
    return f"A whole number of days from 1 to {MAX_RETENTION_DAYS}, or null to keep everything."


@transaction.atomic
def privacy_settings_update(*, project: Project, data: Mapping[str, Any]) -> Project:
    """Save the project's privacy mode, retention days and keep_reviewed flag (checked first).

    A new mode applies to what is ingested from then on; what is stored already stays as it is.
    """
    clean = privacy_settings_clean(data)
    for name, value in clean.items():
        setattr(project, name, value)
    if clean:
        project.save(update_fields=list(clean))
        audit_record(
            actor=None,
            action=AuditAction.PRIVACY_SETTINGS_CHANGED,
            project=project,
            target=f"project:{project.pk}",
            details={name: value for name, value in clean.items()},
        )
    return project
