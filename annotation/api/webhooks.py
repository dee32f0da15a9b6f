"""Webhook targets over the API: list and create (per project), read, change, delete, their
delivery log and redelivery. Leads manage webhooks; engineers may read them. Secrets are
returned once, when created or replaced."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.errors import Invalid, NotFound
from annotation.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookFormat
from annotation.selectors.access import LEADS, READERS, project_access
from annotation.selectors.webhooks import deliveries_of, delivery_of, webhook_for, webhooks_for
from annotation.services.deliveries import delivery_redeliver
from annotation.services.webhooks import webhook_create, webhook_delete, webhook_update


class WebhookSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)

    class Meta:
        model = Webhook
        fields = [
            "id",
            "project",
            "name",
            "url",
            "format",
            "email_recipients",
            "secret_prefix",
            "active",
            "failing",
            "failing_since",
            "consecutive_failures",
            "created_by",
            "created_at",
            "updated_at",
        ]


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="The signing secret: shown this once, keep it.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookInSerializer(serializers.Serializer):
    """Documentation of the body; the service checks every field and names what is wrong."""

    project = serializers.CharField(help_text="Project name (on create).")
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(required=False, help_text="https URL (json and slack formats).")
    format = serializers.ChoiceField(choices=WebhookFormat.choices, required=False)
    secret = serializers.CharField(
        required=False, help_text="16-256 characters; generated and returned once when left out."
    )
    email_recipients = serializers.ListField(child=serializers.EmailField(), required=False)
    active = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.ModelSerializer):
    webhook = serializers.IntegerField(source="webhook_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "delivery_id",
            "webhook",
            "event",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "latency_ms",
            "error",
            "payload",
            "created_at",
            "updated_at",
            "delivered_at",
        ]


_EXAMPLE = OpenApiExample(
    "A signed JSON webhook",
    request_only=True,
    value={"project": "support-bot", "name": "fine-tune CI", "url": "https://ci.example.com/hooks"},
)


def errors(*codes: int) -> dict[int, type[ErrorEnvelopeSerializer]]:
    """The error answers an operation documents, each with the error envelope."""
    return dict.fromkeys(codes, ErrorEnvelopeSerializer)


def body_of(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object.", details={"body": ["Must be a JSON object."]})
    return data


def int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise Invalid(f"{name}: give a whole number.", details={name: ["Not a whole number."]})
    return int(raw)


class WebhookListView(APIView):
    @extend_schema(
        operation_id="webhooks_list",
        summary="Webhooks of your projects (leads and engineers)",
        parameters=[OpenApiParameter("project", str, description="Only this project's.")],
        responses={
            200: WebhookSerializer(many=True),
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        project = request.query_params.get("project") or None
        if project:
            project_access(request.user, project, READERS)
        rows = webhooks_for(request.user, READERS, project=project)
        return Response(WebhookSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Create a webhook (leads); the secret is returned once",
        request=WebhookInSerializer,
        examples=[_EXAMPLE],
        responses={201: WebhookCreatedSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        data = body_of(request)
        access = project_access(request.user, data.get("project"), LEADS)
        user: User = request.user  # type: ignore[assignment]
        webhook, secret = webhook_create(project=access.project, created_by=user, data=data)
        out = {**WebhookSerializer(webhook).data, "secret": secret}
        return Response(out, status=201)


class WebhookDetailView(APIView):
    @extend_schema(
        operation_id="webhooks_read",
        summary="One webhook",
        responses={200: WebhookSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        return Response(WebhookSerializer(webhook_for(request.user, webhook_id, READERS)).data)

    @extend_schema(
        operation_id="webhooks_update",
        summary="Change a webhook (leads); a new secret given is echoed once",
        request=WebhookInSerializer(partial=True),
        responses={200: WebhookSerializer, **errors(400, 403, 404, 409)},
    )
    def patch(self, request: Request, webhook_id: int) -> Response:
        webhook = webhook_for(request.user, webhook_id, LEADS)
        webhook, secret = webhook_update(webhook=webhook, data=body_of(request))
        out = dict(WebhookSerializer(webhook).data)
        if secret is not None:
            out["secret"] = secret
        return Response(out)

    @extend_schema(
        operation_id="webhooks_delete",
        summary="Delete a webhook and its delivery log (leads)",
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: Request, webhook_id: int) -> Response:
        webhook_delete(webhook=webhook_for(request.user, webhook_id, LEADS))
        return Response(status=204)


class WebhookDeliveriesView(APIView):
    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="The webhook's delivery log, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryStatus.values),
            OpenApiParameter("before", int, description="Only deliveries with a smaller id."),
            OpenApiParameter("limit", int, description="At most 200; 50 when left out."),
        ],
        responses={200: DeliverySerializer(many=True), **errors(400, 403, 404)},
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        webhook = webhook_for(request.user, webhook_id, READERS)
        status = request.query_params.get("status") or None
        if status is not None and status not in DeliveryStatus.values:
            raise Invalid(
                f"status: use one of {', '.join(DeliveryStatus.values)}.",
                details={"status": ["Unknown status."]},
            )
        rows = deliveries_of(
            webhook,
            status=status,
            before=int_param(request, "before"),
            limit=int_param(request, "limit") or 50,
        )
        return Response(DeliverySerializer(rows, many=True).data)


class DeliveryRedeliverView(APIView):
    @extend_schema(
        operation_id="webhooks_redeliver",
        summary="Send a delivered or failed delivery again, with the same delivery id (leads)",
        request=None,
        responses={202: DeliverySerializer, **errors(403, 404, 409)},
    )
    def post(self, request: Request, webhook_id: int, delivery_id: int) -> Response:
        webhook = webhook_for(request.user, webhook_id, LEADS)
        delivery = delivery_of(webhook, delivery_id)
        if delivery is None:
            raise NotFound(f"No delivery {delivery_id} of webhook {webhook_id}.")
        delivery = delivery_redeliver(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=202)
