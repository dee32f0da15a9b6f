"""What webhook and trigger pages and endpoints read, narrowed to the caller's projects."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from annotation.models import Role, Trigger, TriggerRun, Webhook, WebhookDelivery
from annotation.selectors.access import object_for, projects_for

DELIVERY_PAGE = 50
MAX_DELIVERY_PAGE = 200


def webhooks_for(
    user: Any, roles: tuple[Role, ...], *, project: str | None = None
) -> QuerySet[Webhook]:
    projects = projects_for(user, roles)
    if project:
        projects = projects.filter(name=project)
    return (
        Webhook.objects.filter(project__in=projects)
        .select_related("project", "created_by")
        .order_by("project__name", "name", "pk")
    )


def webhook_for(user: Any, webhook_id: int, roles: tuple[Role, ...]) -> Webhook:
    """The webhook, when the caller holds one of ``roles`` in its project (404 / 403)."""
    webhook: Webhook = object_for(
        Webhook.objects.select_related("project", "created_by"),
        webhook_id,
        user,
        roles,
        what="webhook",
    )
    return webhook


def deliveries_of(
    webhook: Webhook,
    *,
    status: str | None = None,
    before: int | None = None,
    limit: int = DELIVERY_PAGE,
) -> list[WebhookDelivery]:
    """The webhook's delivery log, newest first, a page at a time (``before`` an id)."""
    rows = WebhookDelivery.objects.filter(webhook=webhook)
    if status:
        rows = rows.filter(status=status)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    return list(rows.order_by("-pk")[: max(1, min(limit, MAX_DELIVERY_PAGE))])


def delivery_of(webhook: Webhook, delivery_id: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(webhook=webhook, pk=delivery_id).first()


def triggers_for(
    user: Any, roles: tuple[Role, ...], *, project: str | None = None
) -> QuerySet[Trigger]:
    projects = projects_for(user, roles)
    if project:
        projects = projects.filter(name=project)
    return (
        Trigger.objects.filter(project__in=projects)
        .select_related("project")
        .prefetch_related("webhooks")
        .order_by("project__name", "name", "pk")
    )


def trigger_for(user: Any, trigger_id: int, roles: tuple[Role, ...]) -> Trigger:
    trigger: Trigger = object_for(
        Trigger.objects.select_related("project").prefetch_related("webhooks"),
        trigger_id,
        user,
        roles,
        what="trigger",
    )
    return trigger


def runs_of(trigger: Trigger, *, limit: int = 50) -> list[TriggerRun]:
    return list(
        TriggerRun.objects.filter(trigger=trigger)
        .select_related("export")
        .order_by("-pk")[: max(1, min(limit, 200))]
    )
