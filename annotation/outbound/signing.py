"""Delivery signatures: ``X-Feedbackloop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC is over ``"<t>.<raw body>"`` with the webhook's secret; the timestamp inside the
signed text lets a receiver refuse old deliveries replayed at it (README: verifying).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Feedbackloop-Signature"
DELIVERY_HEADER = "X-Feedbackloop-Delivery"
EVENT_HEADER = "X-Feedbackloop-Event"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a name prefix, not a secret)
DEFAULT_TOLERANCE_SECONDS = 300


def new_webhook_secret() -> str:
    return f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when one ``v1`` of the header signs ``body`` and ``t`` is within ``tolerance``."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
