"""Agreement reports: POST /api/v1/queues/{id}/agreement, GET /api/v1/agreement/{id} (leads)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.models import AgreementReport
from annotation.selectors.access import LEADS, object_for, queue_for
from annotation.services.agreement import DEFAULT_RESAMPLES, agreement_request


class AgreementRequestSerializer(serializers.Serializer):
    resamples = serializers.IntegerField(
        min_value=0,
        max_value=5000,
        default=DEFAULT_RESAMPLES,
        help_text="Bootstrap resamples; 0 for none.",
    )
    seed = serializers.IntegerField(default=0)


class AgreementReportSerializer(serializers.ModelSerializer):
    queue = serializers.IntegerField(source="queue_id")
    url = serializers.SerializerMethodField()

    class Meta:
        model = AgreementReport
        fields = [
            "id",
            "queue",
            "status",
            "progress",
            "parameters",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]

    def get_url(self, report: AgreementReport) -> str:
        return f"/api/v1/agreement/{report.pk}"


class QueueAgreementView(APIView):
    @extend_schema(
        operation_id="agreement_compute",
        summary="Compute an agreement report for a queue (leads); a Celery task does the work",
        request=AgreementRequestSerializer,
        responses={
            202: AgreementReportSerializer,
            403: OpenApiResponse(ErrorEnvelopeSerializer, description="Not a lead of the project."),
            404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such queue."),
        },
    )
    def post(self, request: Request, queue_id: int) -> Response:
        access = queue_for(request.user, queue_id, LEADS)
        serializer = AgreementRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = agreement_request(
            queue=access.queue,
            requested_by=request.user,  # type: ignore[arg-type]
            resamples=serializer.validated_data["resamples"],
            seed=serializer.validated_data["seed"],
        )
        return Response(AgreementReportSerializer(report).data, status=202)


class AgreementReportView(APIView):
    @extend_schema(
        operation_id="agreement_get",
        summary="An agreement report: its status and progress, then per-field figures with CIs",
        responses={200: AgreementReportSerializer, 404: ErrorEnvelopeSerializer},
    )
    def get(self, request: Request, report_id: int) -> Response:
        report = object_for(
            AgreementReport.objects.select_related("queue"),
            report_id,
            request.user,
            LEADS,
            what="agreement report",
            project_field="queue__project",
        )
        return Response(AgreementReportSerializer(report).data)
