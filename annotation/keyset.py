"""Opaque keyset cursors over (timestamp, id), for pages that never use OFFSET."""

from __future__ import annotations

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime


def keyset_encode(after: tuple[datetime, int]) -> str:
    timestamp, pk = after
    return urlsafe_b64encode(f"{timestamp.isoformat()}|{pk}".encode()).decode().rstrip("=")


def keyset_decode(cursor: str) -> tuple[datetime, int]:
    """The (timestamp, id) a cursor stands for; ValueError when it is not one of ours."""
    try:
        text = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = text.rsplit("|", 1)
        timestamp = datetime.fromisoformat(stamp)
    except (ValueError, UnicodeDecodeError) as exc:  # binascii.Error is a ValueError
        raise ValueError(str(exc)) from None
    if timestamp.tzinfo is None:
        raise ValueError("naive timestamp")
    return timestamp, int(pk)
