"""Exports over the API: request one, watch it, download its files (leads and engineers).

Annotators of the project are refused (403); exports of projects the caller is not a
member of do not exist for them (404). Every download is recorded as an ``AuditEvent``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import FileResponse, HttpResponseBase
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.errors import AppError, Forbidden
from annotation.exports.rows import KINDS
from annotation.models import Export, JobStatus
from annotation.schemas.export_request import FORMATS, ExportRequestInvalid, unstorable_text
from annotation.selectors.access import READERS, export_for, holds_role, project_access
from annotation.selectors.exports import exports_for_user
from annotation.services.exports import export_create, export_download


def export_files(export: Export) -> list[dict[str, Any]]:
    """The files of a done export with their download URLs (relative)."""
    files = export.manifest.get("files", []) if export.status == JobStatus.DONE else []
    url = reverse("api-export-download", args=[export.pk])
    return [{**entry, "download_url": f"{url}?part={entry['part']}"} for entry in files]


class ExportSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    created_by = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "project",
            "kind",
            "format",
            "filters",
            "options",
            "status",
            "progress",
            "rows",
            "files",
            "manifest",
            "error",
            "task_id",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_created_by(self, export: Export) -> str | None:
        return export.created_by.username if export.created_by else None

    def get_files(self, export: Export) -> list[dict[str, Any]]:
        return export_files(export)


class SplitSerializer(serializers.Serializer):
    validation = serializers.FloatField(help_text="Share of rows in the validation part, 0-1.")
    seed = serializers.IntegerField(required=False, default=0)


class ExportInSerializer(serializers.Serializer):
    """The request; validated by ``annotation.schemas.export_request`` (field by field)."""

    project = serializers.CharField(help_text="Project name.")
    kind = serializers.ChoiceField(choices=list(KINDS))
    format = serializers.ChoiceField(choices=list(FORMATS), default="jsonl")
    filters = serializers.JSONField(
        required=False,
        help_text="queues, since, until, model, model_version, prompt_template, verdicts, "
        "reasons, sampled_by, adjudicated_only, agreed_only, min_agreement, "
        "min_guideline_version.",
    )
    redact_pii = serializers.BooleanField(required=False, default=False)
    exclude_pii = serializers.BooleanField(required=False, default=False)
    dedupe = serializers.BooleanField(required=False, default=True)
    split = SplitSerializer(required=False)
    system_prompt = serializers.CharField(required=False)
    partial_relevance = serializers.ChoiceField(choices=["relevant", "irrelevant"], required=False)


_EXAMPLE = OpenApiExample(
    "A deduplicated, redacted SFT set with a 10% validation split",
    request_only=True,
    value={
        "project": "support-bot",
        "kind": "sft",
        "format": "jsonl",
        "filters": {"queues": [1], "adjudicated_only": False, "min_agreement": 0.6},
        "redact_pii": True,
        "split": {"validation": 0.1, "seed": 7},
    },
)


def _allowed(request: Request, export_id: int) -> Export:
    return export_for(request.user, export_id)


def _project_for(user: User, name: Any) -> Any:
    if not isinstance(name, str) or not name:
        raise AppError(
            "project: give the name of the project to export from.",
            code="invalid_export",
            details={"errors": [{"field": "project", "message": "required"}]},
        )
    problem = unstorable_text(name)
    if problem is not None:
        raise AppError(
            f"project: {problem}.",
            code="invalid_export",
            details={"errors": [{"field": "project", "message": problem}]},
        )
    return project_access(user, name, READERS).project


class ExportListView(APIView):
    @extend_schema(
        operation_id="exports_list",
        summary="Exports of your projects, newest first (leads and engineers)",
        parameters=[
            OpenApiParameter("project", str, description="Only this project."),
            OpenApiParameter("status", str, description="pending, running, done or failed."),
        ],
        responses={
            200: ExportSerializer(many=True),
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="An unknown status."),
            403: OpenApiResponse(ErrorEnvelopeSerializer, description="Annotators."),
        },
    )
    def get(self, request: Request) -> Response:
        name = request.query_params.get("project") or None
        if name:
            project_access(request.user, name, READERS)
        elif not holds_role(request.user, READERS):
            raise Forbidden("Only leads and engineers see exports; you annotate in your projects.")
        exports = exports_for_user(request.user)
        if name:
            exports = exports.filter(project__name=name)
        if state := request.query_params.get("status"):
            if state not in JobStatus.values:
                raise AppError(
                    f"status: {state!r} is not an export status; use "
                    f"{', '.join(JobStatus.values)}.",
                    code="invalid_status",
                    details={"field": "status"},
                )
            exports = exports.filter(status=state)
        return Response(ExportSerializer(exports[:200], many=True).data)

    @extend_schema(
        operation_id="exports_create",
        summary="Build an export (a Celery task on the heavy queue)",
        request=ExportInSerializer,
        examples=[_EXAMPLE],
        responses={
            202: ExportSerializer,
            400: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="unknown_kind, unknown_format or invalid_export, with every "
                "problem in details.errors.",
            ),
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise AppError(
                'Send a JSON object like {"project": "support-bot", "kind": "sft"}.',
                code="invalid_export",
            )
        user: User = request.user  # type: ignore[assignment]
        project = _project_for(user, data.get("project"))
        try:
            export = export_create(project=project, created_by=user, data=data)
        except ExportRequestInvalid as invalid:
            raise AppError(
                invalid.message, code=invalid.code, details={"errors": invalid.errors}
            ) from None
        return Response(ExportSerializer(export).data, status=202)


class ExportDetailView(APIView):
    @extend_schema(
        operation_id="exports_get",
        summary="An export: status, progress, rows, files and manifest",
        responses={
            200: ExportSerializer,
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request, export_id: int) -> Response:
        return Response(ExportSerializer(_allowed(request, export_id)).data)


class ExportDownloadView(APIView):
    @extend_schema(
        operation_id="exports_download",
        summary="Stream one file of a done export (recorded in the audit log)",
        parameters=[
            OpenApiParameter(
                "part",
                str,
                description="train, validation or all; may be left out when there is one file.",
            )
        ],
        responses={
            # The file, typed by the export's format (jsonl, csv or parquet).
            (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/vnd.apache.parquet"): OpenApiResponse(OpenApiTypes.BINARY),
            400: ErrorEnvelopeSerializer,
            403: ErrorEnvelopeSerializer,
            409: OpenApiResponse(
                ErrorEnvelopeSerializer, description="export_not_ready or export_failed"
            ),
            404: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request, export_id: int) -> HttpResponseBase:
        export = _allowed(request, export_id)
        part = request.query_params.get("part") or None
        user: User = request.user  # type: ignore[assignment]
        download = export_download(
            export=export,
            part=part,
            actor=user,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        response = FileResponse(
            download.file,
            as_attachment=True,
            filename=download.filename,
            content_type=download.content_type,
        )
        response["Content-Length"] = str(download.size)
        response["ETag"] = f'"{download.sha256}"'
        response["X-Content-SHA256"] = download.sha256
        return response
