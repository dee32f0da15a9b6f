"""Guidelines over the API: list a project's versions, publish a new one (leads)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.errors import AppError
from annotation.models import Project, Role
from annotation.models.review import Guideline
from annotation.selectors.access import MEMBERS, project_access
from annotation.selectors.queues import guidelines_for_project
from annotation.services.guidelines import (
    MAX_GUIDELINE_CHARS,
    guideline_publish,
    guideline_text_problem,
)


class GuidelineSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    created_by = serializers.CharField(source="created_by.username", allow_null=True)

    class Meta:
        model = Guideline
        fields = ["id", "project", "version", "text", "created_by", "created_at"]


class GuidelineInSerializer(serializers.Serializer):
    project = serializers.CharField()
    text = serializers.CharField(
        max_length=MAX_GUIDELINE_CHARS,
        help_text=f"Markdown, at most {MAX_GUIDELINE_CHARS:,} characters.",
        error_messages={
            "max_length": "the guideline is longer than {max_length} characters; keep it to at "
            "most that (link long examples instead of pasting them)"
        },
    )

    def validate_text(self, value: str) -> str:
        problem = guideline_text_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


def _first_problem(errors: dict[str, Any]) -> str:
    """'field: message' of the first invalid field, for the error's one-line message."""
    for field, messages in errors.items():
        message = messages[0] if isinstance(messages, list) and messages else messages
        return f"{field}: {message}"
    return 'Send {"project": NAME, "text": MARKDOWN}.'


def _member_project(request: Request, name: str | None) -> tuple[Project, str]:
    access = project_access(request.user, name, MEMBERS)
    return access.project, access.role


class GuidelineListView(APIView):
    @extend_schema(
        operation_id="guidelines_list",
        summary="A project's guideline versions, newest first (members)",
        parameters=[OpenApiParameter("project", str, required=True)],
        responses={
            200: GuidelineSerializer(many=True),
            404: OpenApiResponse(ErrorEnvelopeSerializer),
        },
    )
    def get(self, request: Request) -> Response:
        project, _ = _member_project(request, request.query_params.get("project"))
        guidelines = guidelines_for_project(project).select_related("project", "created_by")
        return Response(GuidelineSerializer(guidelines, many=True).data)

    @extend_schema(
        operation_id="guidelines_publish",
        summary="Publish the next guideline version (leads)",
        description="Older versions and the annotations made under them never change.",
        request=GuidelineInSerializer,
        responses={
            201: GuidelineSerializer,
            400: OpenApiResponse(ErrorEnvelopeSerializer),
            403: OpenApiResponse(ErrorEnvelopeSerializer),
            404: OpenApiResponse(ErrorEnvelopeSerializer, description="Not a project of yours."),
        },
        examples=[
            OpenApiExample(
                "A guideline",
                request_only=True,
                value={
                    "project": "support-bot",
                    "text": "# Verdict\n\nMark **bad** any answer that is wrong or unsafe.",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = GuidelineInSerializer(data=request.data)
        if not serializer.is_valid():
            raise AppError(
                _first_problem(serializer.errors),
                code="invalid_guideline",
                details=serializer.errors,
            )
        project, role = _member_project(request, serializer.validated_data["project"])
        if role != Role.LEAD:
            raise AppError(
                f"Only leads of {project.name} publish guidelines.", code="forbidden", status=403
            )
        try:
            guideline = guideline_publish(
                project=project,
                text=serializer.validated_data["text"],
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ValueError as exc:
            raise AppError(str(exc), code="invalid_guideline") from None
        return Response(GuidelineSerializer(guideline).data, status=201)
