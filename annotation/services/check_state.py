"""Turning a check on and off without touching its configuration."""

from __future__ import annotations

from annotation.models import Check
from annotation.models.audit import AuditAction
from annotation.services.audit import audit_record


def check_set_enabled(*, check: Check, enabled: bool) -> Check:
    """Enable or disable a check (one UPDATE); a disabled check flags nothing new."""
    check.enabled = enabled
    check.save(update_fields=["enabled", "updated_at"])
    audit_record(
        actor=None,
        action=AuditAction.CHECK_CHANGED,
        project=check.project,
        target=f"check:{check.pk}",
        details={"name": check.name, "enabled": enabled},
    )
    return check
