"""Wrong passwords are counted, per account and per address, and sign-in locks for a while.

Counters and locks live in Django's cache (Redis in production, so every web process sees the
same ones). After `LOGIN_FAILURES_PER_ACCOUNT` failures for one username, or
`LOGIN_FAILURES_PER_ADDRESS` from one address, within `LOGIN_FAILURE_WINDOW_SECONDS`, that
account (or address) is locked for `LOGIN_LOCK_SECONDS`: every attempt is refused, the right
password included, so guessing gains nothing. Failures and locks go to the audit log.
A success clears the account's count (not the address's: one good password from an address
must not reset a spray over many accounts).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from annotation.models.audit import AuditAction
from annotation.services.audit import audit_record, client_ip


@dataclass(frozen=True)
class Lock:
    """Sign-in is refused for `seconds` more, because of the account or of the address."""

    seconds: int
    scope: str  # "account" | "address"


def _account(username: str) -> str:
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return f"account:{digest}"


def _address(request: Any) -> str | None:
    ip = client_ip(request) if request is not None else None
    return f"address:{ip}" if ip else None


def _subjects(username: str, request: Any) -> list[tuple[str, str, int]]:
    subjects = [(_account(username), "account", settings.LOGIN_FAILURES_PER_ACCOUNT)]
    address = _address(request)
    if address:
        subjects.append((address, "address", settings.LOGIN_FAILURES_PER_ADDRESS))
    return subjects


def login_lock(*, username: str, request: Any) -> Lock | None:
    """The lock in force for this username or the caller's address, if any."""
    now = time.time()
    for subject, scope, _limit in _subjects(username, request):
        until = cache.get(f"login:lock:{subject}")
        if until is not None and float(until) > now:
            return Lock(seconds=max(1, int(float(until) - now) + 1), scope=scope)
    return None


def _count(key: str, window: int) -> int:
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window)
        return 1


def login_failure_record(*, username: str, request: Any) -> Lock | None:
    """Count a wrong password (audited `login.failed`); lock when a limit is reached."""
    username = username[:150]
    window, lock_for = settings.LOGIN_FAILURE_WINDOW_SECONDS, settings.LOGIN_LOCK_SECONDS
    audit_record(actor=None, action=AuditAction.LOGIN_FAILED, actor_label=username, request=request)
    started: Lock | None = None
    for subject, scope, limit in _subjects(username, request):
        if _count(f"login:fail:{subject}", window) >= limit:
            cache.set(f"login:lock:{subject}", time.time() + lock_for, timeout=lock_for)
            cache.delete(f"login:fail:{subject}")
            started = started or Lock(seconds=lock_for, scope=scope)
            audit_record(
                actor=None,
                action=AuditAction.LOGIN_LOCKED,
                actor_label=username,
                target=f"{scope}:{username if scope == 'account' else client_ip(request)}",
                details={"failures": limit, "locked_seconds": lock_for},
                request=request,
            )
    return started


def login_success_record(*, username: str) -> None:
    cache.delete(f"login:fail:{_account(username)}")
