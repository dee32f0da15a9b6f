"""Privacy over the API (leads): erase one end user; read and change the privacy settings.

`POST /api/v1/privacy/erase {"project", "user_id" | "session_id"}` forgets one end user of the
project (annotation/services/erasure.py). `GET, PATCH /api/v1/privacy/settings?project=P` read
the mode, retention and latest retention runs, and change the first two.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.permissions import IsPerson
from annotation.errors import Invalid
from annotation.models import PrivacyMode
from annotation.selectors.access import LEADS, project_access
from annotation.selectors.privacy import privacy_info
from annotation.services.erasure import privacy_erase
from annotation.services.privacy_settings import privacy_settings_update

_ERASE_FIELDS = {"project", "user_id", "session_id"}


def _body(request: Request, example: str) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise Invalid(f"Send a JSON object like {example}.", code="invalid_body")
    return data


def _project_name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(
            "Name the project: `project` is its name (a string).",
            code="project_required",
            details={"project": ["Required: the project's name."]},
        )
    return value


class EraseInSerializer(serializers.Serializer[Any]):
    project = serializers.CharField(help_text="The project's name.")
    user_id = serializers.CharField(
        required=False, help_text="The raw id your application sent (hashed here)."
    )
    session_id = serializers.CharField(required=False, help_text="Or a session id.")


class EraseOutSerializer(serializers.Serializer[Any]):
    erased = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rows deleted, by table."
    )
    rollup_hours = serializers.IntegerField(help_text="Rollup hours recomputed.")
    exports_marked = serializers.ListField(
        child=serializers.IntegerField(), help_text="Exports that held the user's rows."
    )


class PrivacyErasureView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="privacy_erase",
        summary="Forget one end user of a project (leads)",
        description=(
            "Deletes the user's interactions with their feedback, flags, queue items, leases, "
            "annotations and adjudications (and the user's own feedback elsewhere), recomputes "
            "the rollup hours they counted in and marks the exports that held them. A user "
            "never seen gives zero counts. Send exactly one of `user_id` and `session_id`."
        ),
        request=EraseInSerializer,
        examples=[
            OpenApiExample(
                "By user id",
                value={"project": "support-bot", "user_id": "u-42"},
                request_only=True,
            )
        ],
        responses={
            200: EraseOutSerializer,
            400: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="subject_required (neither user_id nor session_id), one_subject "
                "(both), invalid_subject, project_required, unknown_field, invalid_body.",
            ),
            403: OpenApiResponse(ErrorEnvelopeSerializer, description="Not a lead."),
            404: OpenApiResponse(ErrorEnvelopeSerializer, description="Not your project."),
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(request, '{"project": "support-bot", "user_id": "u-42"}')
        unknown = sorted(set(data) - _ERASE_FIELDS)
        if unknown:
            raise Invalid(
                f"Unknown field {unknown[0]!r}; send project and user_id or session_id.",
                code="unknown_field",
                details={name: ["Unknown field."] for name in unknown},
            )
        access = project_access(request.user, _project_name(data.get("project")), LEADS)
        erasure = privacy_erase(
            project=access.project,
            actor=request.user,
            user_id=data.get("user_id"),
            session_id=data.get("session_id"),
        )
        return Response(
            {
                "erased": erasure.as_dict(),
                "rollup_hours": len(erasure.hours),
                "exports_marked": sorted(erasure.exports),
            }
        )


class RetentionRunSerializer(serializers.Serializer[Any]):
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    cutoff = serializers.DateTimeField()
    retention_days = serializers.IntegerField()
    keep_reviewed = serializers.BooleanField()
    deleted = serializers.DictField(child=serializers.IntegerField())
    kept = serializers.IntegerField()
    more = serializers.BooleanField()


class PrivacySettingsSerializer(serializers.Serializer[Any]):
    project = serializers.CharField()
    privacy_mode = serializers.ChoiceField(choices=PrivacyMode.choices)
    retention_days = serializers.IntegerField(allow_null=True, min_value=1, max_value=36500)
    keep_reviewed = serializers.BooleanField()
    retention_runs = RetentionRunSerializer(many=True, read_only=True)


class PrivacySettingsInSerializer(serializers.Serializer[Any]):
    project = serializers.CharField(required=False)
    privacy_mode = serializers.ChoiceField(choices=PrivacyMode.choices, required=False)
    retention_days = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=36500, required=False
    )
    keep_reviewed = serializers.BooleanField(required=False)


_PROJECT = OpenApiParameter("project", str, required=True, description="The project's name.")


class PrivacySettingsView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="privacy_settings",
        summary="A project's privacy mode, retention and latest retention runs (leads)",
        parameters=[_PROJECT],
        responses={
            200: PrivacySettingsSerializer,
            400: ErrorEnvelopeSerializer,
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        access = project_access(request.user, request.query_params.get("project") or None, LEADS)
        return Response(PrivacySettingsSerializer(privacy_info(access.project)).data)

    @extend_schema(
        operation_id="privacy_settings_update",
        summary="Change a project's privacy mode or retention (leads)",
        parameters=[_PROJECT],
        request=PrivacySettingsInSerializer,
        examples=[
            OpenApiExample(
                "Redact and keep 90 days",
                value={"privacy_mode": "redact", "retention_days": 90, "keep_reviewed": True},
                request_only=True,
            )
        ],
        responses={
            200: PrivacySettingsSerializer,
            400: OpenApiResponse(
                ErrorEnvelopeSerializer, description="invalid_settings, naming each field."
            ),
            403: ErrorEnvelopeSerializer,
            404: ErrorEnvelopeSerializer,
        },
    )
    def patch(self, request: Request) -> Response:
        data = _body(request, '{"privacy_mode": "redact", "retention_days": 90}')
        name = _project_name(request.query_params.get("project") or data.get("project"))
        access = project_access(request.user, name, LEADS)
        project = privacy_settings_update(project=access.project, data=data)
        return Response(PrivacySettingsSerializer(privacy_info(project)).data)
