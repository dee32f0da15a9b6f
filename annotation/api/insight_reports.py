"""GET /api/v1/insights/{slices,themes,templates,retrieval,signals}: the insight reports as JSON.

Leads and engineers of the project read them. Worst slices and templates come from the rollups
(metadata slices from the stored report of the same window); themes, retrieval and signals are
stored reports computed by Celery: POST to the same URL requests a new one for a window.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.metrics import _ERRORS, _project
from annotation.errors import AppError
from annotation.insights.query import InvalidQuery, Range, parse_range
from annotation.insights.slices import parse_min_support
from annotation.models import InsightReportKind, Project
from annotation.selectors.insight_reports import (
    insight_report_latest_done,
    report_status,
    slices_report,
    stored_report,
    templates_report,
)
from annotation.services.insight_reports import insight_report_request

_PROJECT = OpenApiParameter("project", str, required=True, description="The project's name.")
_WINDOW = [
    OpenApiParameter(
        "since", OpenApiTypes.DATETIME, description="Start (default: until - 7 days)."
    ),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="End, exclusive (default: now)."),
]


def _window(request: Request) -> Range:
    try:
        return parse_range(
            request.query_params.get("since"), request.query_params.get("until"), timezone.now()
        )
    except InvalidQuery as exc:
        raise AppError(exc.message, code="invalid_query", details={"field": exc.field}) from None


def slices_window(project: Project, since: str | None, until: str | None) -> Range:
    """The asked window, else that of the newest stored metadata report, else the last 7 days."""
    if not since and not until:
        stored = insight_report_latest_done(project, InsightReportKind.SLICES)
        if stored is not None:
            return Range(since=stored.since, until=stored.until)
    return parse_range(since, until, timezone.now())


class _StoredReportView(APIView):
    kind: str = ""

    def get(self, request: Request) -> Response:
        return Response(stored_report(_project(request), self.kind))

    def post(self, request: Request) -> Response:
        project = _project(request)
        window = _window(request)
        report = insight_report_request(
            project=project, kind=self.kind, since=window.since, until=window.until
        )
        report.refresh_from_db()
        return Response(report_status(report), status=202)


_REQUEST_DOC: dict[str, Any] = {
    "request": None,
    "parameters": [_PROJECT, *_WINDOW],
    "responses": {202: OpenApiResponse(OpenApiTypes.OBJECT), **_ERRORS},
}


class InsightSlicesView(_StoredReportView):
    kind = InsightReportKind.SLICES

    @extend_schema(
        operation_id="insights_slices",
        summary="Worst slices: dimension and metadata values ranked by negative rate vs the rest",
        parameters=[
            _PROJECT,
            *_WINDOW,
            OpenApiParameter(
                "min_support",
                int,
                description="Rated interactions a slice needs (≥ 10, default 30).",
            ),
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        project = _project(request)
        params = request.query_params
        try:
            min_support = parse_min_support(params.get("min_support"))
            window = slices_window(project, params.get("since"), params.get("until"))
        except InvalidQuery as exc:
            raise AppError(
                exc.message, code="invalid_query", details={"field": exc.field}
            ) from None
        body: dict[str, Any] = slices_report(
            project, window, min_support=min_support, use_stored=True
        )
        return Response(body)

    @extend_schema(
        operation_id="insights_slices_request",
        summary="Compute the metadata slices of a window in the background",
        **_REQUEST_DOC,
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class InsightTemplatesView(APIView):
    @extend_schema(
        operation_id="insights_templates",
        summary="Per prompt template and version: volume, negative, rating, flag and reviewed bad rates",
        parameters=[_PROJECT, *_WINDOW],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        project = _project(request)
        return Response(templates_report(project, _window(request)))


def _stored_view(kind: str, summary: str) -> type[_StoredReportView]:
    class View(_StoredReportView):
        @extend_schema(
            operation_id=f"insights_{kind}",
            summary=summary,
            parameters=[_PROJECT],
            responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **_ERRORS},
        )
        def get(self, request: Request) -> Response:
            return super().get(request)

        @extend_schema(
            operation_id=f"insights_{kind}_request",
            summary=f"Compute the {kind} report of a window in the background",
            **_REQUEST_DOC,
        )
        def post(self, request: Request) -> Response:
            return super().post(request)

    View.kind = kind
    View.__name__ = View.__qualname__ = f"Insight{kind.title()}View"
    return View


InsightThemesView = _stored_view(
    InsightReportKind.THEMES, "Comment themes: counts, trend per day and example comments"
)
InsightRetrievalView = _stored_view(
    InsightReportKind.RETRIEVAL,
    "Retrieval: documents judged irrelevant and the negative rate by retrieved source",
)
InsightSignalsView = _stored_view(
    InsightReportKind.SIGNALS, "Retraining signal: reasons whose rate rises across model versions"
)
