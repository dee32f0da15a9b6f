"""POST /api/v1/interactions and POST /api/v1/feedback: the bulk, idempotent ingestion path."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.authentication import ProjectClient, ProjectKeyAuthentication
from annotation.api.openapi import FEEDBACK_REQUEST, INTERACTION_REQUEST
from annotation.api.permissions import IsIngestionKey
from annotation.errors import AppError
from annotation.schemas.decoding import BodyError, DecodedBatch, decode_rows, errors_as_dicts
from annotation.schemas.ingestion import (
    FeedbackBatch,
    FeedbackIn,
    InteractionBatch,
    InteractionIn,
)
from annotation.services.ingestion import (
    feedback_check_taxonomy,
    feedback_ingest,
    interactions_ingest,
)


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True, help_text="Position in `items`; null for one object."
    )
    field = serializers.CharField(help_text="Dotted path of the field, e.g. messages[0].role.")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


# Built with inline_serializer because a field named `errors` would shadow Serializer.errors.
InteractionsResultSerializer = inline_serializer(
    "InteractionsResult",
    {
        "created": serializers.IntegerField(),
        "duplicates": serializers.ListField(
            child=serializers.CharField(), help_text="request_ids already stored (unchanged)."
        ),
        "errors": RowErrorSerializer(many=True),
    },
)
FeedbackResultSerializer = inline_serializer(
    "FeedbackResult",
    {
        "created": serializers.IntegerField(),
        "duplicates": serializers.ListField(
            child=serializers.CharField(), help_text="feedback_ids already stored (unchanged)."
        ),
        "awaiting_interaction": serializers.ListField(
            child=serializers.CharField(),
            help_text="request_ids with no interaction yet; linked when it arrives.",
        ),
        "errors": RowErrorSerializer(many=True),
    },
)


def read_body(request: Request) -> bytes:
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise AppError(
            f"Send the body as application/json, not {content_type}.",
            code="unsupported_media_type",
            status=415,
        )
    try:
        return request.body
    except RequestDataTooBig:
        raise AppError(
            "The body is larger than MAX_REQUEST_BYTES allows; send fewer items per request.",
            code="too_large",
            status=413,
        ) from None


def decode_or_raise(body: bytes, row_type: Any, batch_type: Any) -> DecodedBatch[Any]:
    try:
        return decode_rows(body, row_type, batch_type)
    except BodyError as exc:
        raise AppError(exc.message, code=exc.code, details=exc.details) from None


def outcome_status(batch: DecodedBatch[Any], stored: int) -> int:
    """201 when rows were stored, 207 when some rows failed, 400 when none was valid."""
    if batch.errors and not batch.rows:
        return status.HTTP_400_BAD_REQUEST
    if batch.errors:
        return status.HTTP_207_MULTI_STATUS
    return status.HTTP_201_CREATED if stored else status.HTTP_200_OK


def invalid_rows_error(batch: DecodedBatch[Any]) -> AppError:
    noun = "item was" if batch.is_batch else "object is"
    return AppError(
        f"No {noun} valid; nothing was stored. Fix the fields listed in details.errors.",
        code="invalid_items" if batch.is_batch else "invalid",
        details={"errors": errors_as_dicts(batch.errors)},
    )


_COMMON_RESPONSES = {
    207: OpenApiResponse(description="Some items were stored; `errors` lists the others by index."),
    400: OpenApiResponse(ErrorEnvelopeSerializer, description="Nothing valid; nothing stored."),
    401: OpenApiResponse(ErrorEnvelopeSerializer, description="Missing or unknown project key."),
    413: OpenApiResponse(ErrorEnvelopeSerializer, description="Body too large."),
    415: OpenApiResponse(ErrorEnvelopeSerializer, description="Not JSON."),
}


class InteractionsIngestView(APIView):
    authentication_classes = [ProjectKeyAuthentication]
    permission_classes = [IsIngestionKey]

    @extend_schema(
        operation_id="interactions_ingest",
        summary="Send one interaction or a batch of up to 1,000",
        description=(
            "Idempotent on `request_id` per project: one already stored is reported in "
            "`duplicates` and left unchanged. Bad rows of a batch are reported by index; the good "
            "ones are stored (207). `user_id` is pseudonymised with a keyed hash before storage."
        ),
        request={
            "application/json": OpenApiRequest(
                INTERACTION_REQUEST,
                examples=[
                    OpenApiExample(
                        "One chat interaction",
                        value={
                            "request_id": "req-123",
                            "timestamp": "2026-11-20T10:00:00Z",
                            "model": "gpt-x",
                            "model_version": "2026-10-01",
                            "prompt_template": "support_answer",
                            "prompt_template_version": "3",
                            "messages": [
                                {"role": "system", "content": "You are a support agent."},
                                {"role": "user", "content": "How do I reset my password?"},
                            ],
                            "response": "Open Settings, then Security, then Reset password.",
                            "retrieved_context": [
                                {"id": "kb-7", "text": "Passwords…", "score": 0.82, "source": "kb"}
                            ],
                            "user_id": "u-42",
                            "session_id": "s-9",
                            "experiment": "tone-test",
                            "variant": "B",
                            "latency_ms": 840,
                            "tokens_in": 312,
                            "tokens_out": 150,
                            "metadata": {"locale": "en-GB"},
                        },
                    ),
                    OpenApiExample(
                        "A batch with a plain prompt",
                        value={
                            "items": [
                                {"request_id": "req-124", "prompt": "Hi", "response": "Hello!"}
                            ]
                        },
                    ),
                ],
            )
        },
        responses={
            201: InteractionsResultSerializer,
            200: OpenApiResponse(InteractionsResultSerializer, description="All duplicates."),
            **_COMMON_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "Partly stored",
                response_only=True,
                status_codes=["207"],
                value={
                    "created": 998,
                    "duplicates": ["req-1"],
                    "errors": [
                        {
                            "index": 3,
                            "field": "messages[0].role",
                            "message": "Invalid enum value 'bot'",
                        }
                    ],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        client: ProjectClient = request.user  # type: ignore[assignment]
        batch = decode_or_raise(read_body(request), InteractionIn, InteractionBatch)
        if not batch.rows:
            raise invalid_rows_error(batch)
        result = interactions_ingest(project=client.project, items=[row for _, row in batch.rows])
        body = {
            "created": result.created,
            "duplicates": result.duplicates,
            "errors": errors_as_dicts(batch.errors),
        }
        return Response(body, status=outcome_status(batch, result.created))


class FeedbackIngestView(APIView):
    authentication_classes = [ProjectKeyAuthentication]
    permission_classes = [IsIngestionKey]

    @extend_schema(
        operation_id="feedback_ingest",
        summary="Send one piece of feedback or a batch of up to 1,000",
        description=(
            "Ratings (`thumbs` 0/1, `stars5` 1-5, `score10` 0-10) are stored raw and normalised to "
            "[0, 1]; labels must be in the project's taxonomy. Feedback for a request_id not yet "
            "seen is stored and linked when the interaction arrives."
        ),
        request={
            "application/json": OpenApiRequest(
                FEEDBACK_REQUEST,
                examples=[
                    OpenApiExample(
                        "Thumbs down",
                        value={
                            "request_id": "req-123",
                            "kind": "rating",
                            "value": 0,
                            "scale": "thumbs",
                        },
                    ),
                    OpenApiExample(
                        "A batch of mixed feedback",
                        value={
                            "items": [
                                {
                                    "request_id": "req-123",
                                    "kind": "rating",
                                    "value": 2,
                                    "scale": "stars5",
                                },
                                {"request_id": "req-123", "kind": "label", "labels": ["incorrect"]},
                                {
                                    "request_id": "req-123",
                                    "kind": "correction",
                                    "text": "The answer is…",
                                },
                                {
                                    "request_id": "req-123",
                                    "kind": "comment",
                                    "text": "Ignored my question",
                                },
                                {
                                    "request_id": "req-123",
                                    "kind": "implicit",
                                    "event": "dwell",
                                    "value": 12.5,
                                },
                            ]
                        },
                    ),
                ],
            )
        },
        responses={201: FeedbackResultSerializer, **_COMMON_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        client: ProjectClient = request.user  # type: ignore[assignment]
        batch = decode_or_raise(read_body(request), FeedbackIn, FeedbackBatch)
        batch = feedback_check_taxonomy(project=client.project, batch=batch)
        if not batch.rows:
            raise invalid_rows_error(batch)
        result = feedback_ingest(project=client.project, items=[row for _, row in batch.rows])
        body = {
            "created": result.created,
            "duplicates": result.duplicates,
            "awaiting_interaction": result.awaiting_interaction,
            "errors": errors_as_dicts(batch.errors),
        }
        return Response(body, status=outcome_status(batch, result.created))
