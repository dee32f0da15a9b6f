"""POST /api/v1/otlp/v1/traces: OpenTelemetry GenAI spans (OTLP/HTTP) as interactions."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from annotation.api.authentication import ProjectClient, ProjectKeyAuthentication
from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.permissions import IsIngestionKey
from annotation.errors import AppError
from annotation.otlp.decode import JSON, PROTOBUF, OtlpError, answer, gunzip, parse


def _refuse(exc: OtlpError) -> AppError:
    return AppError(exc.message, code=exc.code, status=exc.status)


class OtlpTracesView(APIView):
    authentication_classes = [ProjectKeyAuthentication]
    permission_classes = [IsIngestionKey]
    parser_classes: list[type] = []  # the body is read raw: protobuf or JSON, maybe gzip

    @extend_schema(
        operation_id="otlp_traces_ingest",
        summary="OpenTelemetry traces (OTLP/HTTP): GenAI spans become interactions",
        description=(
            "An `ExportTraceServiceRequest` as `application/x-protobuf` or `application/json`, "
            "optionally `Content-Encoding: gzip`, with the project key. Spans following the GenAI "
            "semantic conventions (or OpenLLMetry's `gen_ai.prompt.N.*`) are stored as "
            "interactions, idempotently on their request_id (the span id in hex, or the "
            "project's `otlp_request_id_attribute`); other spans are ignored. The answer is an "
            "`ExportTraceServiceResponse` in the request's encoding whose `partial_success` "
            "gives the rejected spans and why."
        ),
        request={PROTOBUF: OpenApiTypes.BINARY, JSON: OpenApiTypes.OBJECT},
        responses={
            (200, PROTOBUF): OpenApiResponse(OpenApiTypes.BINARY),
            (200, JSON): OpenApiResponse(OpenApiTypes.OBJECT, description="Partial success."),
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="Not an OTLP request."),
            401: OpenApiResponse(ErrorEnvelopeSerializer, description="No project key."),
            413: OpenApiResponse(ErrorEnvelopeSerializer, description="Body too large."),
            415: OpenApiResponse(ErrorEnvelopeSerializer, description="Not protobuf or JSON."),
        },
    )
    def post(self, request: Request) -> HttpResponse:
        client: ProjectClient = request.user  # type: ignore[assignment]
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type not in (PROTOBUF, JSON):
            raise AppError(
                f"Send OTLP as {PROTOBUF} or {JSON}, not {content_type or 'no Content-Type'}.",
                code="unsupported_media_type",
                status=415,
            )
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise AppError(
                f"Content-Encoding {encoding!r} is not supported; send gzip or none.",
                code="unsupported_encoding",
                status=415,
            )
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 64 * 1024 * 1024
        try:
            body = request.body
        except RequestDataTooBig:
            raise AppError(
                f"The body is over {limit} bytes; export smaller batches.",
                code="too_large",
                status=413,
            ) from None
        try:
            if encoding == "gzip":
                body = gunzip(body, limit)
            traces = parse(body, content_type)
        except OtlpError as exc:
            raise _refuse(exc) from None
        # The span conversion (opentelemetry-proto) loads with the first export received.
        from annotation.services.otlp import otlp_ingest

        result = otlp_ingest(project=client.project, request=traces)
        response = HttpResponse(
            answer(content_type, len(result.rejected), result.message), content_type=content_type
        )
        response["X-Feedbackloop-Created"] = str(result.created)
        response["X-Feedbackloop-Duplicates"] = str(len(result.duplicates))
        response["X-Feedbackloop-Ignored-Spans"] = str(result.ignored)
        return response
