"""The webhooks page of a project (leads): its webhooks and triggers, the delivery log, and a
Redeliver button on each finished delivery (htmx swaps the row in place)."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotation.errors import Invalid, NotFound
from annotation.models import DeliveryStatus, TriggerRun, WebhookDelivery
from annotation.selectors.access import LEADS, ProjectAccess
from annotation.selectors.webhooks import triggers_for, webhooks_for
from annotation.services.deliveries import delivery_redeliver
from annotation.views.access import project_page
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

PAGE = "annotation/webhooks/page.html"
LISTED = 100


def _partial(request: HtmxHttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


@htmx_page
@project_page(LEADS)
@require_GET
def webhooks_page(request: HtmxHttpRequest, access: ProjectAccess) -> HttpResponse:
    """Webhooks, triggers and the newest deliveries (``status=`` narrows the log)."""
    project = access.project
    status = request.GET.get("status", "")
    if status not in ("", *DeliveryStatus.values):
        raise Invalid(
            f"status: {status[:40]!r} is not a delivery status.",
            details={"status": [f"Use one of {', '.join(DeliveryStatus.values)}."]},
        )
    webhooks = list(webhooks_for(request.user, LEADS, project=project.name))
    deliveries = WebhookDelivery.objects.filter(webhook__project=project).select_related("webhook")
    if status:
        deliveries = deliveries.filter(status=status)
    triggers = list(triggers_for(request.user, LEADS, project=project.name))
    runs = (
        TriggerRun.objects.filter(trigger__project=project)
        .select_related("trigger", "export")
        .order_by("-pk")[:20]
    )
    context = {
        "project": project,
        "webhooks": webhooks,
        "deliveries": list(deliveries.order_by("-pk")[:LISTED]),
        "triggers": triggers,
        "runs": list(runs),
        "status": status,
        "statuses": DeliveryStatus.values,
        "listed": LISTED,
    }
    template = f"{PAGE}#log" if _partial(request) else PAGE
    return render(request, template, context)


@htmx_page
@project_page(LEADS)
@require_POST
def delivery_redeliver_view(
    request: HtmxHttpRequest, access: ProjectAccess, delivery_id: int
) -> HttpResponseBase:
    """Send a delivered or failed delivery again (same delivery id); htmx gets the new row."""
    delivery = (
        WebhookDelivery.objects.select_related("webhook")
        .filter(pk=delivery_id, webhook__project=access.project)
        .first()
    )
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id} in {access.project.name}.")
    if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        delivery = delivery_redeliver(delivery=delivery)
    # Pressed again while it is being sent: nothing to do but show the row as it is.
    if _partial(request):
        context = {"project": access.project, "delivery": delivery}
        return render(request, f"{PAGE}#delivery-row", context)
    return HttpResponseRedirect(reverse("lead-webhooks", args=[access.project.name]), status=303)
