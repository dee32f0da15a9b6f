"""Export previews and presets over the API (leads and engineers of the project).

`POST /api/v1/exports/preview` takes an export request and answers what it would give now
(rows, rows per part, matching items, left out by reason, three sample rows, warnings) without
building anything. `GET, POST /api/v1/export-presets` and `GET, DELETE
/api/v1/export-presets/{id}` keep named export requests per project. Refusals use the error
envelope: `invalid_export` and friends with `details.errors` (400), `forbidden` (403, annotators;
an engineer deleting someone else's preset), `not_found` (404, not your project).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.exports import ExportInSerializer, _project_for
from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.errors import AppError, Forbidden, Invalid
from annotation.models import ExportPreset
from annotation.schemas.export_request import ExportRequestInvalid
from annotation.selectors.access import LEADS, READERS, holds_role, project_access, projects_for
from annotation.selectors.export_presets import preset_for
from annotation.services.export_presets import export_preset_delete, export_preset_save
from annotation.services.export_preview import export_preview


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def _object(data: Any, example: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid(f"Send a JSON object like {example}.", code="invalid_export")
    return data


class PreviewSerializer(serializers.Serializer):
    kind = serializers.CharField()
    rows = serializers.IntegerField()
    estimated_rows = serializers.IntegerField()
    complete = serializers.BooleanField()
    items = serializers.IntegerField()
    items_total = serializers.IntegerField()
    items_read = serializers.IntegerField()
    by_part = serializers.DictField(child=serializers.IntegerField())
    excluded = serializers.DictField(child=serializers.IntegerField())
    samples = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.CharField())


class ExportPreviewView(APIView):
    @extend_schema(
        operation_id="exports_preview",
        summary="What an export request would give now: rows, parts, three samples (nothing built)",
        request=ExportInSerializer,
        responses={
            200: PreviewSerializer,
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="invalid_export and friends"),
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = _object(request.data, '{"project": "support-bot", "kind": "sft"}')
        project = _project_for(_user(request), data.get("project"))
        try:
            preview = export_preview(project=project, data=data)
        except ExportRequestInvalid as invalid:
            raise AppError(
                invalid.message, code=invalid.code, details={"errors": invalid.errors}
            ) from None
        # Sample rows may hold datetimes (annotation exports): JSON text, as the files have them.
        body = json.loads(json.dumps(preview.as_dict(), default=str))
        return Response(body)


class PresetSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = ExportPreset
        fields = ["id", "project", "name", "request", "created_by", "created_at", "updated_at"]

    def get_created_by(self, preset: ExportPreset) -> str | None:
        return preset.created_by.username if preset.created_by else None


class PresetInSerializer(serializers.Serializer):
    project = serializers.CharField()
    name = serializers.CharField()
    request = serializers.DictField(help_text="An export request, without its project.")


class PresetListView(APIView):
    @extend_schema(
        operation_id="export_presets_list",
        summary="Export presets of your projects (leads and engineers)",
        parameters=[OpenApiParameter("project", str, description="Only this project.")],
        responses={200: PresetSerializer(many=True), 403: ErrorEnvelopeSerializer},
    )
    def get(self, request: Request) -> Response:
        name = request.query_params.get("project") or None
        if name:
            projects = [project_access(request.user, name, READERS).project]
        elif holds_role(request.user, READERS):
            projects = list(projects_for(request.user, READERS))
        else:
            raise Forbidden("Only leads and engineers see export presets.")
        presets = (
            ExportPreset.objects.filter(project__in=[p.pk for p in projects])
            .select_related("project", "created_by")
            .order_by("project__name", "name")
        )
        return Response(PresetSerializer(presets, many=True).data)

    @extend_schema(
        operation_id="export_presets_save",
        summary="Save an export request under a name (the same name replaces it)",
        request=PresetInSerializer,
        responses={
            201: PresetSerializer,
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="A bad name or request."),
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        example = '{"project": "support-bot", "name": "weekly SFT", "request": {"kind": "sft"}}'
        data = _object(request.data, example)
        project = _project_for(_user(request), data.get("project"))
        name, body = data.get("name"), data.get("request")
        if not isinstance(name, str):
            raise Invalid("name: give the preset a name.", details={"name": ["required"]})
        if not isinstance(body, dict):
            raise Invalid(
                'request: give an export request object, e.g. {"kind": "sft"}.',
                details={"request": ["must be an object"]},
            )
        preset = export_preset_save(
            project=project, name=name, request=body, created_by=_user(request)
        )
        return Response(PresetSerializer(preset).data, status=201)


class PresetDetailView(APIView):
    def _preset(self, request: Request, preset_id: int) -> ExportPreset:
        preset = preset_for(request.user, preset_id)
        project_access(request.user, preset.project, READERS)
        return preset

    @extend_schema(
        operation_id="export_presets_read",
        summary="One export preset",
        responses={
            200: PresetSerializer,
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request, preset_id: int) -> Response:
        return Response(PresetSerializer(self._preset(request, preset_id)).data)

    @extend_schema(
        operation_id="export_presets_delete",
        summary="Delete a preset (engineers their own, leads any of the project's)",
        responses={204: None, 403: ErrorEnvelopeSerializer, 404: ErrorEnvelopeSerializer},
    )
    def delete(self, request: Request, preset_id: int) -> Response:
        preset = self._preset(request, preset_id)
        access = project_access(request.user, preset.project, READERS)
        if access.role not in LEADS and preset.created_by_id != _user(request).pk:
            raise Forbidden(f"Only leads of {preset.project.name} delete presets others saved.")
        export_preset_delete(preset=preset)
        return Response(status=204)
