"""Signing secrets sealed at rest (Fernet: AES-128-CBC with an HMAC-SHA256 tag).

A webhook's secret must be read back to sign each delivery, so it cannot be hashed like the
project keys. It is sealed with a key derived from ``WEBHOOK_SECRETS_KEYS`` (or the
``SECRET_KEY``): a copy of the database alone does not reveal it. The first key seals; every
key listed unseals, so a key can be rotated by putting the new one first.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class SealBroken(Exception):
    """A sealed value that none of the configured keys opens."""


def _fernet(keys: Sequence[str]) -> MultiFernet:
    # Imported here: web processes seal a secret only when a webhook is saved.
    from cryptography.fernet import Fernet, MultiFernet

    if not keys:
        raise ValueError("At least one sealing key is needed.")
    derived = [
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"webhook-secrets:{k}".encode()).digest()))
        for k in keys
    ]
    return MultiFernet(derived)


def seal(value: str, keys: Sequence[str]) -> str:
    return _fernet(keys).encrypt(value.encode()).decode()


def unseal(sealed: str, keys: Sequence[str]) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(keys).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SealBroken(
            "The webhook secret cannot be unsealed with the configured keys "
            "(was WEBHOOK_SECRETS_KEYS or SECRET_KEY changed?); set a new secret."
        ) from None
