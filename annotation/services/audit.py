"""Writing the audit log (annotation.models.audit): one call per sensitive action."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from annotation.models.audit import AuditAction, AuditEvent
from annotation.models.project import Project

_ACTIONS = frozenset(AuditAction.values)
# The request being served, so a service called from a page or the API records who asked and
# from where without every caller passing it along (Celery tasks and commands have none: system).
_CURRENT_REQUEST: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_MAX_DETAILS_BYTES = 16 * 1024
_MAX_TARGET = 64 + 1 + 255


def audit_record(
    *,
    actor: Any,
    action: str,
    project: Project | int | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
    request: HttpRequest | Any | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event to the audit log (an INSERT; nothing is ever updated or deleted).

    `actor` is a user, an ingestion client (`key:<prefix>`) or None (the system, or a failed
    login whose attempted name goes in `actor_label`). `target` is `type:id` (`export:42`).
    `request` supplies the caller's address. `details` must be JSON, at most 16 KB.
    """
    if action not in _ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; add it to AuditAction first.")
    details = dict(details or {})
    encoded = json.dumps(details, default=str)
    if len(encoded.encode()) > _MAX_DETAILS_BYTES:
        raise ValueError(f"Audit details are over {_MAX_DETAILS_BYTES} bytes; record less.")
    target_type, _, target_id = target.partition(":") if ":" in target else ("", "", target)
    if len(target) > _MAX_TARGET or len(target_type) > 64:
        raise ValueError("An audit target is `type:id` with a type of at most 64 characters.")
    current = _CURRENT_REQUEST.get()
    if request is None:
        request = current
    if actor is None and actor_label is None and current is not None:
        # DRF puts the user it authenticated (a token's) on the Django request too.
        actor = getattr(current, "user", None)
        if actor is not None and not getattr(actor, "is_authenticated", False):
            actor = None
    user = actor if isinstance(actor, User) and actor.pk is not None else None
    label = actor_label if actor_label is not None else _label(actor)
    return AuditEvent.objects.create(
        project_id=project.pk if isinstance(project, Project) else project,
        actor=user,
        actor_label=label[:150],
        action=action,
        target_type=target_type,
        target_id=target_id,
        metadata=json.loads(encoded),
        ip_address=client_ip(request) if request is not None else None,
    )


def _label(actor: Any) -> str:
    if actor is None or isinstance(actor, AnonymousUser):
        return "system" if actor is None else "anonymous"
    username = getattr(actor, "username", None) or getattr(actor, "get_username", lambda: "")()
    return str(username or actor)


def client_ip(request: HttpRequest | Any) -> str | None:
    """The caller's address as the server saw it (REMOTE_ADDR), if it is one."""
    meta = getattr(request, "META", None) or {}
    raw = str(meta.get("REMOTE_ADDR") or "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


@contextmanager
def audit_request(request: HttpRequest) -> Iterator[None]:
    token = _CURRENT_REQUEST.set(request)
    try:
        yield
    finally:
        _CURRENT_REQUEST.reset(token)


class AuditRequestMiddleware:
    """Makes the request being served known to `audit_record` (who, from which address)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        with audit_request(request):
            return self.get_response(request)
