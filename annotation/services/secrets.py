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


def pseudonymise(user_id: str) -> str:
    """Keyed hash of an application's user id; raw ids are never stored."""
    if not user_id:
        return ""
    return hmac.new(
        settings.USER_ID_HASH_KEY.encode(), user_id.encode(), hashlib.sha256
    ).hexdigest()[:32]
