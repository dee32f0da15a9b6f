"""What a check should have caught: the mapping its guard report measures it against."""

from __future__ import annotations

from typing import Any

from annotation.models import Check
from annotation.review.guard import parse_catches


def check_catches_set(*, check: Check, catches: Any) -> Check:
    """Validate and store ``catches`` on the check; raises ``CatchesInvalid`` naming the field."""
    check.catches = parse_catches(catches).to_json()
    check.save(update_fields=["catches", "updated_at"])
    return check
