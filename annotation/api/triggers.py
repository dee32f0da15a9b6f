"""Pipeline triggers over the API: list and create (per project), read, change, delete, their
run log and a manual run. Leads manage triggers; engineers may read them. Also the download
a trigger's signed link opens (no account: the link is the permission)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import FileResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.webhooks import body_of, errors
from annotation.errors import NotFound
from annotation.models import Export, Trigger, TriggerReason, TriggerRun
from annotation.selectors.access import LEADS, READERS, project_access
from annotation.selectors.webhooks import runs_of, trigger_for, triggers_for
from annotation.services.export_links import export_link_check
from annotation.services.exports import export_download
from annotation.services.trigger_config import trigger_create, trigger_delete, trigger_update
from annotation.services.triggers import trigger_run


class TriggerSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    export = serializers.JSONField(source="export_request")
    webhooks = serializers.SerializerMethodField()

    class Meta:
        model = Trigger
        fields = [
            "id",
            "project",
            "name",
            "export",
            "min_new_examples",
            "webhooks",
            "watermark",
            "active",
            "last_run_at",
            "created_at",
            "updated_at",
        ]

    def get_webhooks(self, trigger: Trigger) -> list[int]:
        return sorted(w.pk for w in trigger.webhooks.all())


class TriggerRunSerializer(serializers.ModelSerializer):
    trigger = serializers.IntegerField(source="trigger_id")
    export = serializers.IntegerField(source="export_id", allow_null=True)
    alert = serializers.IntegerField(source="alert_id", allow_null=True)

    class Meta:
        model = TriggerRun
        fields = [
            "id",
            "trigger",
            "reason",
            "alert",
            "export",
            "example_count",
            "watermark_from",
            "watermark_to",
            "status",
            "error",
            "created_at",
            "finished_at",
        ]


class TriggerInSerializer(serializers.Serializer):
    """Documentation of the body; the service checks every field and names what is wrong."""

    project = serializers.CharField(help_text="Project name (on create).")
    name = serializers.CharField(max_length=100)
    export = serializers.JSONField(help_text="An export request, as POST /api/v1/exports takes.")
    min_new_examples = serializers.IntegerField(min_value=1, required=False)
    webhooks = serializers.ListField(child=serializers.IntegerField(), required=False)
    active = serializers.BooleanField(required=False)


_EXAMPLE = OpenApiExample(
    "Nightly SFT set when 500 new reviewed examples are in",
    request_only=True,
    value={
        "project": "support-bot",
        "name": "nightly SFT",
        "export": {"kind": "sft", "format": "jsonl", "split": {"validation": 0.1, "seed": 7}},
        "min_new_examples": 500,
        "webhooks": [3],
    },
)


class TriggerListView(APIView):
    @extend_schema(
        operation_id="triggers_list",
        summary="Pipeline triggers of your projects (leads and engineers)",
        parameters=[OpenApiParameter("project", str, description="Only this project's.")],
        responses={
            200: TriggerSerializer(many=True),
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        project = request.query_params.get("project") or None
        if project:
            project_access(request.user, project, READERS)
        rows = triggers_for(request.user, READERS, project=project)
        return Response(TriggerSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="triggers_create",
        summary="Create a pipeline trigger (leads)",
        request=TriggerInSerializer,
        examples=[_EXAMPLE],
        responses={201: TriggerSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        data = body_of(request)
        access = project_access(request.user, data.get("project"), LEADS)
        user: User = request.user  # type: ignore[assignment]
        trigger = trigger_create(project=access.project, created_by=user, data=data)
        return Response(TriggerSerializer(trigger).data, status=201)


class TriggerDetailView(APIView):
    @extend_schema(
        operation_id="triggers_read",
        summary="One trigger",
        responses={200: TriggerSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, trigger_id: int) -> Response:
        return Response(TriggerSerializer(trigger_for(request.user, trigger_id, READERS)).data)

    @extend_schema(
        operation_id="triggers_update",
        summary="Change a trigger (leads)",
        request=TriggerInSerializer(partial=True),
        responses={200: TriggerSerializer, **errors(400, 403, 404, 409)},
    )
    def patch(self, request: Request, trigger_id: int) -> Response:
        trigger = trigger_for(request.user, trigger_id, LEADS)
        trigger = trigger_update(trigger=trigger, data=body_of(request))
        return Response(TriggerSerializer(trigger).data)

    @extend_schema(
        operation_id="triggers_delete",
        summary="Delete a trigger and its run log (leads)",
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: Request, trigger_id: int) -> Response:
        trigger_delete(trigger=trigger_for(request.user, trigger_id, LEADS))
        return Response(status=204)


class TriggerRunsView(APIView):
    @extend_schema(
        operation_id="triggers_runs",
        summary="The trigger's runs, newest first",
        responses={200: TriggerRunSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, trigger_id: int) -> Response:
        trigger = trigger_for(request.user, trigger_id, READERS)
        return Response(TriggerRunSerializer(runs_of(trigger), many=True).data)

    @extend_schema(
        operation_id="triggers_run",
        summary="Run the trigger now if it has new examples (leads); 204 when nothing is new",
        request=None,
        responses={202: TriggerRunSerializer, 204: None, **errors(403, 404)},
    )
    def post(self, request: Request, trigger_id: int) -> Response:
        trigger = trigger_for(request.user, trigger_id, LEADS)
        run = trigger_run(trigger, reason=TriggerReason.MANUAL)
        if run is None:
            return Response(status=204)
        return Response(TriggerRunSerializer(run).data, status=202)


class ExportLinkDownloadView(APIView):
    """The download a trigger's signed link opens: the token is checked, no account needed."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="exports_link_download",
        summary="Download an export's file with a signed, expiring link (from trigger.fired)",
        parameters=[
            OpenApiParameter("token", str, required=True),
            OpenApiParameter("part", str, description="train, validation or all."),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
            410: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request, export_id: int) -> HttpResponseBase:
        export_link_check(export_id, request.query_params.get("token") or "")
        export = Export.objects.select_related("project").filter(pk=export_id).first()
        if export is None:
            raise NotFound(f"Export {export_id} no longer exists.")
        download = export_download(
            export=export,
            part=request.query_params.get("part") or None,
            actor=None,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        response = FileResponse(
            download.file,
            as_attachment=True,
            filename=download.filename,
            content_type=download.content_type,
        )
        response["Content-Length"] = str(download.size)
        response["X-Content-SHA256"] = download.sha256
        response["Cache-Control"] = "private, no-store"
        return response
