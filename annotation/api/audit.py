"""GET /api/v1/audit: the audit log, newest first, in keyset pages (leads of the project).

Without `project`, the events of every project the caller leads; superusers also see the events
that belong to no project (sign-in failures, users' own tokens).
"""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.permissions import IsPerson
from annotation.models.audit import AuditAction, AuditEvent
from annotation.selectors.access import LEADS, project_access, projects_for
from annotation.selectors.audit import (
    MAX_PAGE_SIZE,
    audit_event_json,
    audit_events_page,
    audit_filters_parse,
    cursor_parse,
    page_size_parse,
)


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    project = serializers.CharField(allow_null=True)
    actor = serializers.CharField(allow_null=True, help_text="The user, while they exist.")
    actor_label = serializers.CharField(
        help_text="Who it was at the time: a username, `key:<prefix>`, the name tried at a "
        "failed sign-in, or `system`."
    )
    action = serializers.ChoiceField(choices=AuditAction.choices)
    target = serializers.CharField(help_text="`type:id`, e.g. `export:42`.")
    details = serializers.DictField()
    ip = serializers.IPAddressField(allow_null=True)


class AuditPageSerializer(serializers.Serializer):
    results = AuditEventSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The next page's URL, or null.")


class AuditListView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="audit_list",
        summary="The audit log of your projects, newest first (leads)",
        parameters=[
            OpenApiParameter("project", str, description="Only this project (you lead it)."),
            OpenApiParameter("action", str, enum=AuditAction.values),
            OpenApiParameter("actor", str, description="A username or actor label."),
            OpenApiParameter("since", str, description="ISO 8601 date or date-time."),
            OpenApiParameter("until", str, description="ISO 8601 date or date-time."),
            OpenApiParameter("limit", int, description=f"1 to {MAX_PAGE_SIZE}; 50 by default."),
            OpenApiParameter("cursor", str, description="From the previous page's `next`."),
        ],
        responses={
            200: AuditPageSerializer,
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="A bad filter or cursor."),
            403: OpenApiResponse(ErrorEnvelopeSerializer, description="Not a lead of project."),
            404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such project."),
        },
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        filters = audit_filters_parse(params)
        size = page_size_parse(params.get("limit"))
        after = cursor_parse(params.get("cursor"))
        name = params.get("project") or ""
        if name:
            access = project_access(request.user, name, LEADS)
            events = AuditEvent.objects.filter(project=access.project)
        elif getattr(request.user, "is_superuser", False):
            events = AuditEvent.objects.all()
        else:
            # Someone who leads no project gets an empty list, as every list without a filter.
            events = AuditEvent.objects.filter(project__in=projects_for(request.user, LEADS))
        page = audit_events_page(events, filters, after=after, size=size)
        next_url = None
        if page.next_cursor:
            query = {k: v for k, v in params.items() if k != "cursor"}
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        return Response({"results": [audit_event_json(e) for e in page.events], "next": next_url})
