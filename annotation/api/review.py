"""What the review API views share."""

from __future__ import annotations

from annotation.errors import NotFound


def not_found(what: str) -> NotFound:
    return NotFound(f"{what} not found, or not visible to you.")
