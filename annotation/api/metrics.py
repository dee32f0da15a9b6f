"""GET /api/v1/metrics/timeseries and /api/v1/metrics/compare: the dashboards' figures as JSON."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.errors import AppError
from annotation.insights.query import (
    DIMENSIONS,
    METRICS,
    InvalidQuery,
    parse_bucket,
    parse_dimension,
    parse_filters,
    parse_metric,
    parse_range,
)
from annotation.models import Check, Project, Severity
from annotation.selectors.access import READERS, project_access
from annotation.selectors.metrics import metrics_compare, metrics_timeseries

_COMMON = [
    OpenApiParameter("project", str, required=True, description="The project's name."),
    OpenApiParameter(
        "since", OpenApiTypes.DATETIME, description="Start (default: until - 7 days)."
    ),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="End, exclusive (default: now)."),
    OpenApiParameter("queue", int, description="reviewed_bad_rate of one queue (default: all)."),
    *[
        OpenApiParameter(d, str, description=f"Keep only these {d} values (comma-separated).")
        for d in DIMENSIONS
    ],
]
_ERRORS = {
    400: OpenApiResponse(ErrorEnvelopeSerializer, description="A parameter is not valid."),
    403: OpenApiResponse(ErrorEnvelopeSerializer, description="Annotators do not see metrics."),
    404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such project of yours."),
}


def _invalid(exc: InvalidQuery) -> AppError:
    return AppError(exc.message, code="invalid_query", details={"field": exc.field})


def _project(request: Request) -> Project:
    name = request.query_params.get("project")
    if not name:
        raise AppError(
            "Send `project`: the project's name.",
            code="invalid_query",
            details={"field": "project"},
        )
    return project_access(request.user, name, READERS).project


def _queue_id(request: Request, project: Project) -> int | None:
    raw = request.query_params.get("queue")
    if not raw:
        return None
    if not raw.isdigit() or not project.queues.filter(pk=int(raw)).exists():
        raise AppError(
            f"No queue {raw!r} in this project.", code="invalid_query", details={"field": "queue"}
        )
    return int(raw)


def _params(request: Request) -> dict[str, list[str]]:
    return {key: request.query_params.getlist(key) for key in request.query_params}


class MetricsTimeseriesView(APIView):
    @extend_schema(
        operation_id="metrics_timeseries",
        summary="One metric over time, by hour or day, optionally one series per slice value",
        parameters=[
            OpenApiParameter("metric", str, required=True, enum=list(METRICS)),
            OpenApiParameter("bucket", str, enum=["hour", "day"]),
            OpenApiParameter("group_by", str, enum=list(DIMENSIONS)),
            OpenApiParameter("check", str, description="flag_rate: the check's name."),
            OpenApiParameter("min_severity", str, enum=[s.label.lower() for s in Severity]),
            *_COMMON,
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        project = _project(request)
        params = request.query_params
        try:
            metric = parse_metric(params.get("metric"))
            window = parse_range(params.get("since"), params.get("until"), timezone.now())
            bucket = parse_bucket(params.get("bucket"), window)
            group_by = parse_dimension("group_by", params.get("group_by"), required=False)
            filters = parse_filters(_params(request))
        except InvalidQuery as exc:
            raise _invalid(exc) from None
        check, min_severity = _check(request, project, metric)
        body = metrics_timeseries(
            project=project,
            metric=metric,
            window=window,
            bucket=bucket,
            filters=filters,
            group_by=group_by,
            check=check,
            min_severity=min_severity,
            queue_id=_queue_id(request, project),
        )
        return Response(body)


def _check(request: Request, project: Project, metric: str) -> tuple[Check | None, int]:
    name = request.query_params.get("check")
    if metric != "flag_rate":
        return None, 0
    if not name:
        raise AppError(
            "flag_rate needs `check`: the check's name.",
            code="invalid_query",
            details={"field": "check"},
        )
    check = Check.objects.filter(project=project, name=name).first()
    if check is None:
        raise AppError(
            f"No check {name!r} in this project.", code="invalid_query", details={"field": "check"}
        )
    severity = request.query_params.get("min_severity", "")
    if not severity:
        return check, 0
    try:
        return check, int(Severity.from_name(severity))
    except (KeyError, ValueError):
        names = ", ".join(s.label.lower() for s in Severity)
        raise AppError(
            f"Unknown severity {severity!r}; use {names}.",
            code="invalid_query",
            details={"field": "min_severity"},
        ) from None


class MetricsCompareView(APIView):
    @extend_schema(
        operation_id="metrics_compare",
        summary="Two slices side by side (A/B): each metric, the difference, its interval and test",
        parameters=[
            OpenApiParameter("dimension", str, required=True, enum=list(DIMENSIONS)),
            OpenApiParameter("a", str, required=True),
            OpenApiParameter("b", str, required=True),
            *_COMMON,
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        project = _project(request)
        params = request.query_params
        try:
            dimension = parse_dimension("dimension", params.get("dimension"), required=True)
            window = parse_range(params.get("since"), params.get("until"), timezone.now())
            filters = parse_filters(_params(request))
        except InvalidQuery as exc:
            raise _invalid(exc) from None
        a, b = params.get("a", ""), params.get("b", "")
        for name, value in (("a", a), ("b", b)):
            if not value:
                raise AppError(
                    f"Send `{name}`: a value of {dimension}.",
                    code="invalid_query",
                    details={"field": name},
                )
        if a == b:
            raise AppError(
                "`a` and `b` are the same slice; pick two different values.",
                code="invalid_query",
                details={"field": "b"},
            )
        assert dimension is not None
        body: dict[str, Any] = metrics_compare(
            project=project,
            dimension=dimension,
            a=a,
            b=b,
            window=window,
            filters=filters,
            queue_id=_queue_id(request, project),
        )
        return Response(body)
