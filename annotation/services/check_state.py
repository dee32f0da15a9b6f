"""Turning a check on and off without touching its configuration."""

from __future__ import annotations

from annotation.models import Check


def check_set_enabled(*, check: Check, enabled: bool) -> Check:
    """Enable or disable a check (one UPDATE); a disabled check flags nothing new."""
    check.enabled = enabled
    check.save(update_fields=["enabled", "updated_at"])
    return check
