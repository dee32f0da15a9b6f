"""The feedback widget's endpoints: its configuration and end users' feedback, with a public key.

A widget key writes feedback and reads nothing but the project's reasons. Browsers reach these
endpoints across origins (CORS, only from origins some widget key allows); each request must also
come from an origin its own key allows, and is rate-limited per key and per address.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.authentication import ProjectClient, WidgetKeyAuthentication
from annotation.api.ingestion import (
    ErrorEnvelopeSerializer,
    decode_or_raise,
    read_body,
)
from annotation.api.openapi import FEEDBACK_REQUEST
from annotation.api.permissions import IsIngestionKey
from annotation.errors import AppError
from annotation.ratelimit import rate_limit_hit
from annotation.schemas.ingestion import FeedbackBatch, FeedbackIn
from annotation.services.widget import WIDGET_MAX_TEXT, WidgetRefused, widget_feedback_submit


def _client_address(request: Request) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _throttle(request: Request, client: ProjectClient) -> None:
    """Per key and per (key, address) windows; 429 with Retry-After when over either."""
    limits = [
        (f"widget:{client.key.pk}", settings.WIDGET_RATE_PER_KEY),
        (f"widget:{client.key.pk}:{_client_address(request)}", settings.WIDGET_RATE_PER_ADDRESS),
    ]
    for key, limit in limits:
        wait = rate_limit_hit(key, limit=limit, window_seconds=60)
        if wait is not None:
            # DRF's Throttled sets Retry-After; the error handler keeps the envelope.
            raise exceptions.Throttled(
                wait, detail=f"Too much feedback from here; try again in {wait} seconds."
            )


def _reasons(client: ProjectClient) -> list[dict[str, str]]:
    return [
        {
            "name": entry["name"],
            "label": entry.get("label") or entry["name"].replace("_", " ").capitalize(),
        }
        for entry in client.project.taxonomy
    ]


class WidgetConfigView(APIView):
    authentication_classes = [WidgetKeyAuthentication]
    permission_classes = [IsIngestionKey]

    @extend_schema(
        operation_id="widget_config",
        summary="What the widget shows: the project's reasons (public widget key)",
        responses={
            200: OpenApiResponse(description='{"reasons": [{"name", "label"}], "max_text": 5000}'),
            401: OpenApiResponse(ErrorEnvelopeSerializer, description="No widget key."),
            403: OpenApiResponse(ErrorEnvelopeSerializer, description="Origin not allowed."),
        },
    )
    def get(self, request: Request) -> Response:
        client: ProjectClient = request.user  # type: ignore[assignment]
        origin = request.headers.get("Origin")
        if not origin or origin.lower() not in client.key.allowed_origins:
            raise AppError(
                f"Pages on {origin or 'an unknown origin'} may not use this key.",
                code="origin_not_allowed",
                status=403,
            )
        return Response({"reasons": _reasons(client), "max_text": WIDGET_MAX_TEXT})


class WidgetFeedbackView(APIView):
    authentication_classes = [WidgetKeyAuthentication]
    permission_classes = [IsIngestionKey]

    @extend_schema(
        operation_id="widget_feedback",
        summary="One piece of end-user feedback from the widget (public widget key)",
        description=(
            "A thumbs rating, reasons (`label`), a correction, a comment or an implicit `copy`, "
            "for one request_id, from a page on one of the key's allowed origins. Texts up to "
            f"{WIDGET_MAX_TEXT} characters."
        ),
        request={"application/json": FEEDBACK_REQUEST},
        responses={
            201: OpenApiResponse(description='{"created": 1}'),
            200: OpenApiResponse(description="Already stored (same feedback_id)."),
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="Not valid; see field."),
            401: OpenApiResponse(ErrorEnvelopeSerializer, description="No widget key."),
            403: OpenApiResponse(ErrorEnvelopeSerializer, description="Origin not allowed."),
            429: OpenApiResponse(ErrorEnvelopeSerializer, description="Rate limited."),
        },
    )
    def post(self, request: Request) -> Response:
        client: ProjectClient = request.user  # type: ignore[assignment]
        _throttle(request, client)
        batch = decode_or_raise(read_body(request), FeedbackIn, FeedbackBatch)
        if batch.errors:
            first = batch.errors[0]
            raise AppError(first.message, code="invalid_feedback", details={"field": first.field})
        try:
            result = widget_feedback_submit(
                key=client.key, origin=request.headers.get("Origin"), batch=batch
            )
        except WidgetRefused as exc:
            raise AppError(
                exc.message, code=exc.code, status=exc.status, details={"field": exc.field}
            ) from None
        body: dict[str, Any] = {"created": result.created}
        return Response(body, status=201 if result.created else 200)
