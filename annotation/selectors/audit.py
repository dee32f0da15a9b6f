"""Reading the audit log: filters and keyset pages (newest first), for the API and the lead's page."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from annotation.errors import Invalid
from annotation.keyset import keyset_decode, keyset_encode
from annotation.models.audit import AuditAction, AuditEvent

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None


def _moment(field: str, raw: str, *, end_of_day: bool = False) -> datetime | None:
    """A date (the whole day: `until` runs to its end) or a date-time; 400 naming `field`."""
    raw = raw.strip()[:64]
    if not raw:
        return None
    moment: datetime | None = None
    with contextlib.suppress(ValueError):
        day = parse_date(raw)
        if day is not None:
            moment = datetime.combine(day, time.max if end_of_day else time.min)
    if moment is None:
        with contextlib.suppress(ValueError):
            moment = parse_datetime(raw)
    if moment is None:
        raise Invalid(
            f"{field}: {raw[:40]!r} is not a date; send 2026-12-01 or 2026-12-01T10:00:00Z.",
            details={field: ["Send an ISO 8601 date or date-time."]},
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def audit_filters_parse(params: Any) -> AuditFilters:
    """Filters from query parameters; a specific 400 naming a bad one."""
    action = str(params.get("action") or "").strip()
    if action and action not in AuditAction.values:
        raise Invalid(
            f"action: {action[:64]!r} is not an audited action; use one of "
            f"{', '.join(AuditAction.values)}.",
            details={"action": ["Use one of the listed actions."]},
        )
    actor = str(params.get("actor") or "").strip()[:150]
    since = _moment("since", str(params.get("since") or ""))
    until = _moment("until", str(params.get("until") or ""), end_of_day=True)
    if since and until and since > until:
        raise Invalid(
            "since is after until; swap them.", details={"since": ["Must be before until."]}
        )
    return AuditFilters(action=action, actor=actor, since=since, until=until)


def page_size_parse(raw: Any) -> int:
    if raw in (None, ""):
        return PAGE_SIZE
    try:
        size = int(str(raw))
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Invalid(
            f"limit: send a whole number from 1 to {MAX_PAGE_SIZE}.",
            details={"limit": [f"1 to {MAX_PAGE_SIZE}."]},
        )
    return size


def cursor_parse(raw: Any) -> tuple[datetime, int] | None:
    if not raw:
        return None
    try:
        return keyset_decode(str(raw))
    except ValueError:
        raise Invalid(
            "cursor is not one of ours; use the `next` link of the previous page as it is.",
            code="invalid_cursor",
            details={"cursor": ["Use the `next` link as given."]},
        ) from None


def audit_events_page(
    events: QuerySet[AuditEvent],
    filters: AuditFilters,
    *,
    after: tuple[datetime, int] | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """One page of `events` (already limited to what the caller may see), newest first."""
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        events = events.filter(Q(actor_label=filters.actor) | Q(actor__username=filters.actor))
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__lte=filters.until)
    if after is not None:
        stamp, pk = after
        events = events.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, id__lt=pk))
    rows = list(
        events.select_related("project", "actor").order_by("-created_at", "-id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    cursor = keyset_encode((rows[-1].created_at, rows[-1].pk)) if more and rows else None
    return AuditPage(events=rows, next_cursor=cursor)


def audit_event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "project": event.project.name if event.project else None,
        "actor": event.actor.get_username() if event.actor else None,
        "actor_label": event.actor_label,
        "action": event.action,
        "target": event.target,
        "details": event.metadata,
        "ip": event.ip_address,
    }
