"""Automated checks: list, create and edit them (leads), and their quality against reviewers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.checks.config import CheckConfigError
from annotation.errors import AppError
from annotation.models import Check, CheckType, Queue, Role, Severity
from annotation.review.guard import CatchesInvalid
from annotation.selectors.access import LEADS, READERS, object_for, project_access, projects_for
from annotation.selectors.checks import check_report
from annotation.services.check_catches import check_catches_set
from annotation.services.check_config import check_save


class CheckSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    severity = serializers.SerializerMethodField()

    class Meta:
        model = Check
        fields = [
            "id",
            "project",
            "name",
            "type",
            "parameters",
            "severity",
            "enabled",
            "sample_rate",
            "catches",
            "evaluator_calls",
            "evaluator_prompt_tokens",
            "evaluator_completion_tokens",
            "evaluator_cost",
            "created_at",
            "updated_at",
        ]

    def get_severity(self, check: Check) -> str:
        return Severity(check.severity).label


class CheckInSerializer(serializers.Serializer):
    project = serializers.CharField(required=False, help_text="Project name; needed on create.")
    name = serializers.SlugField(max_length=64, required=False)
    type = serializers.ChoiceField(choices=CheckType.choices, required=False)
    parameters = serializers.JSONField(required=False)
    severity = serializers.ChoiceField(choices=["info", "warning", "critical"], required=False)
    enabled = serializers.BooleanField(required=False)
    sample_rate = serializers.FloatField(required=False, min_value=0.000001, max_value=1)
    catches = serializers.JSONField(
        required=False,
        help_text='What the guard report counts as should-have-fired: {"reasons": ["unsafe"], '
        '"labels": {"pii": "yes"}}; {} for a negative verdict.',
    )


def _config_error(exc: CheckConfigError) -> AppError:
    return AppError(
        f"{exc.field}: {exc.message}" if exc.field else exc.message,
        code="invalid_check",
        details={"field": exc.field, "message": exc.message},
    )


def _check_for(request: Request, check_id: int, roles: tuple[Role, ...]) -> Check:
    check: Check = object_for(
        Check.objects.select_related("project"), check_id, request.user, roles, what="check"
    )
    return check


_EXAMPLE = OpenApiExample(
    "A format check that wants JSON from one template",
    request_only=True,
    value={
        "project": "support-bot",
        "name": "json-answers",
        "type": "format",
        "severity": "warning",
        "parameters": {
            "json_templates": {"extract_order": {"type": "object", "required": ["order_id"]}},
            "max_chars": 4000,
            "deny_patterns": ["(?i)internal use only"],
        },
    },
)


_PYTHON_EXAMPLE = OpenApiExample(
    "A python check naming an evaluator the operator allow-listed in EVALUATORS",
    request_only=True,
    value={
        "project": "support-bot",
        "name": "tone",
        "type": "python",
        "parameters": {"evaluator": "tone", "threshold": 0.6},
        "sample_rate": 0.1,
    },
)


class CheckListView(APIView):
    @extend_schema(
        operation_id="checks_list",
        summary="The checks of your projects",
        parameters=[OpenApiParameter("project", str, description="Only this project.")],
        responses={200: CheckSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        projects = projects_for(request.user, READERS)
        if name := request.query_params.get("project"):
            projects = projects.filter(name=name)
        checks = Check.objects.filter(project__in=projects).select_related("project")
        return Response(CheckSerializer(checks, many=True).data)

    @extend_schema(
        operation_id="checks_create",
        summary="Configure a new check (leads)",
        request=CheckInSerializer,
        examples=[_EXAMPLE, _PYTHON_EXAMPLE],
        responses={
            201: CheckSerializer,
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="Invalid configuration."),
            403: OpenApiResponse(ErrorEnvelopeSerializer, description="Not a lead of the project."),
        },
    )
    def post(self, request: Request) -> Response:
        data = _validated(request)
        missing = [f for f in ("project", "name", "type") if f not in data]
        if missing:
            raise AppError(
                f"Missing {', '.join(missing)}.", code="invalid", details={"fields": missing}
            )
        project = project_access(request.user, data["project"], LEADS).project
        try:
            check = check_save(
                project=project,
                name=data["name"],
                check_type=data["type"],
                parameters=data.get("parameters"),
                severity=data.get("severity", "warning"),
                enabled=data.get("enabled", True),
                sample_rate=data.get("sample_rate", 1.0),
            )
        except CheckConfigError as exc:
            raise _config_error(exc) from None
        if "catches" in data:
            check = _set_catches(check, data["catches"])
        return Response(CheckSerializer(check).data, status=201)


def _set_catches(check: Check, catches: Any) -> Check:
    try:
        return check_catches_set(check=check, catches=catches)
    except CatchesInvalid as exc:
        raise AppError(
            f"{exc.field}: {exc.message}",
            code="invalid_check",
            details={"field": exc.field, "message": exc.message},
        ) from None


def _validated(request: Request) -> dict[str, Any]:
    serializer = CheckInSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class CheckDetailView(APIView):
    @extend_schema(operation_id="checks_get", responses={200: CheckSerializer})
    def get(self, request: Request, check_id: int) -> Response:
        return Response(CheckSerializer(_check_for(request, check_id, READERS)).data)

    @extend_schema(
        operation_id="checks_update",
        summary="Change a check (leads); later interactions use the new configuration",
        request=CheckInSerializer,
        responses={200: CheckSerializer, 400: ErrorEnvelopeSerializer},
    )
    def patch(self, request: Request, check_id: int) -> Response:
        check = _check_for(request, check_id, (Role.LEAD,))
        data = _validated(request)
        try:
            check = check_save(
                project=check.project,
                check=check,
                name=data.get("name", check.name),
                check_type=data.get("type", check.type),
                parameters=data.get("parameters", check.parameters),
                severity=data.get("severity", check.severity),
                enabled=data.get("enabled", check.enabled),
                sample_rate=data.get("sample_rate", check.sample_rate),
            )
        except CheckConfigError as exc:
            raise _config_error(exc) from None
        if "catches" in data:
            check = _set_catches(check, data["catches"])
        return Response(CheckSerializer(check).data)


def report_queue(check: Check, raw: str | None) -> Queue | None:
    """The queue named by ``?queue=``, one of the check's project; None when not given."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise AppError(
            "queue: give the id of one of the project's queues, e.g. ?queue=3.",
            code="invalid_queue",
            details={"field": "queue"},
        )
    queue = Queue.objects.filter(pk=int(raw), project_id=check.project_id).first()
    if queue is None:
        raise AppError(
            f"queue: no queue {raw} in project {check.project.name}.",
            code="not_found",
            status=404,
            details={"field": "queue"},
        )
    return queue


class CheckReportView(APIView):
    @extend_schema(
        operation_id="checks_report",
        summary="Precision and recall of a check against reviewers' settled answers, per queue",
        parameters=[
            OpenApiParameter("queue", int, description="One queue; default: each queue in a list.")
        ],
        responses={
            200: OpenApiResponse(description="The report, or why there is none yet."),
            400: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request, check_id: int) -> Response:
        check = _check_for(request, check_id, READERS)
        return Response(check_report(check, report_queue(check, request.query_params.get("queue"))))
