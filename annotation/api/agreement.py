"""Agreement reports: POST /api/v1/queues/{id}/agreement, GET /api/v1/agreement/{id} (leads)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.errors import ApiError
from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.models import AgreementReport, Role
from annotation.selectors.projects import projects_for_user
from annotation.selectors.queues import queue_access
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
        access = queue_access(request.user, queue_id)
        if access is None:
            raise ApiError(
                "not_found", f"Queue {queue_id} not found, or not visible to you.", status_code=404
            )
        if not access.is_lead:
            raise ApiError(
                "forbidden",
                "Only leads of the queue's project compute agreement reports.",
                status_code=403,
            )
        serializer = AgreementRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = agreement_request(
            queue=access.queue,
            requested_by=request.user,  # type: ignore[arg-type]
            resamples=serializer.validated_data["resamples"],
            seed=serializer.validated_data["seed"],
        )
        return Response(AgreementReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)


class AgreementReportView(APIView):
    @extend_schema(
        operation_id="agreement_get",
        summary="An agreement report: its status and progress, then per-field figures with CIs",
        responses={200: AgreementReportSerializer, 404: ErrorEnvelopeSerializer},
    )
    def get(self, request: Request, report_id: int) -> Response:
        report = (
            AgreementReport.objects.filter(
                pk=report_id, queue__project__in=projects_for_user(request.user, roles=[Role.LEAD])
            )
            .select_related("queue")
            .first()
        )
        if report is None:
            raise ApiError(
                "not_found",
                f"No agreement report {report_id} in the projects you lead.",
                status_code=404,
            )
        return Response(AgreementReportSerializer(report).data)
