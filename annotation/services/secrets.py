"""Project keys and user tokens: random, shown once, stored as SHA-256 only.

The keys carry 160 bits of randomness, so a fast hash is enough (no password stretching): a stolen
table reveals nothing usable, and authenticating costs one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

PROJECT_KEY_PREFIX = "flk"
WIDGET_KEY_PREFIX = "flp"  # public: shipped in web pages, writes widget feedback only
USER_TOKEN_PREFIX = "flt"  # noqa: S105 (a name prefix, not a secret)


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret(kind: str) -> tuple[str, str]:
    """Return (full secret, display prefix) for a new key of `kind` ('flk' or 'flt')."""
    prefix = secrets.token_hex(4)
    return f"{kind}_{prefix}_{secrets.token_urlsafe(20)}", f"{kind}_{prefix}"


def pseudonymise(user_id: str, key: str | None = None) -> str:
    """Keyed hash of an application's user id; raw ids are never stored."""
    if not user_id:
        return ""
    key = settings.USER_ID_HASH_KEY if key is None else key
    return hmac.new(key.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:32]


def pseudonyms(user_id: str) -> list[str]:
    """Every stored form a user id may have: under the current key and, while a key rotation's
    window is open, under `USER_ID_HASH_KEY_PREVIOUS` (look-ups and erasure try both)."""
    if not user_id:
        return []
    found = [pseudonymise(user_id)]
    previous = settings.USER_ID_HASH_KEY_PREVIOUS
    if previous and previous != settings.USER_ID_HASH_KEY:
        found.append(pseudonymise(user_id, previous))
    return found
