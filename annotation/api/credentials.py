"""Project keys (leads of the project) and the caller's own user tokens: list, create, revoke,
rotate. Secrets are shown once, in the answer that creates them; lists show prefixes only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.permissions import IsPerson
from annotation.errors import Invalid
from annotation.models import KeyScope
from annotation.selectors.access import LEADS, project_access
from annotation.selectors.credentials import (
    key_for,
    key_json,
    project_keys,
    token_for,
    token_json,
    user_tokens,
)
from annotation.services.credentials import (
    project_key_revoke,
    project_key_rotate,
    user_token_create,
    user_token_revoke,
    user_token_rotate,
)
from annotation.services.projects import project_key_create

_ERRORS: dict[int | str, Any] = {
    400: ErrorEnvelopeSerializer,
    403: OpenApiResponse(ErrorEnvelopeSerializer, description="Not a lead of the project."),
    404: ErrorEnvelopeSerializer,
    409: OpenApiResponse(ErrorEnvelopeSerializer, description="already_revoked."),
}


class KeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scope = serializers.ChoiceField(choices=KeyScope.choices)
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    rate_limit_per_minute = serializers.IntegerField(allow_null=True)


class NewKeySerializer(KeySerializer):
    key = serializers.CharField(help_text="The secret, shown this once.")


class KeyInSerializer(serializers.Serializer):
    project = serializers.CharField()
    name = serializers.CharField(max_length=100, required=False, default="default")


class RotateInSerializer(serializers.Serializer):
    grace_minutes = serializers.IntegerField(
        required=False, default=0, help_text="How long the old key keeps working (0 to 10080)."
    )


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The secret, shown this once.")


class TokenInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(required=False, allow_null=True, default=None)


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise Invalid("Send a JSON object.", details={"body": ["Send a JSON object."]})
    return request.data


class KeyListView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="keys_list",
        summary="A project's keys, prefixes only (leads)",
        parameters=[OpenApiParameter("project", str, required=True)],
        responses={200: KeySerializer(many=True), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        name = request.query_params.get("project") or ""
        if not name:
            raise Invalid("Name the project: ?project=NAME.", details={"project": ["Required."]})
        access = project_access(request.user, name, LEADS)
        return Response([key_json(k) for k in project_keys(access)[:500]])

    @extend_schema(
        operation_id="keys_create",
        summary="Create an ingestion key; the key is in this answer only (leads)",
        request=KeyInSerializer,
        responses={201: NewKeySerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = KeyInSerializer(data=_body(request))
        data.is_valid(raise_exception=True)
        access = project_access(request.user, data.validated_data["project"], LEADS)
        created = project_key_create(
            project=access.project,
            name=data.validated_data["name"],
            actor=request.user,
            request=request,
        )
        return Response({**key_json(created.obj), "key": created.secret}, status=201)


class KeyRevokeView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="keys_revoke",
        summary="Revoke a key at once (leads)",
        request=None,
        responses={200: KeySerializer, **_ERRORS},
    )
    def post(self, request: Request, key_id: int) -> Response:
        key, _access = key_for(request.user, key_id)
        return Response(key_json(project_key_revoke(key=key, actor=request.user, request=request)))


class KeyRotateView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="keys_rotate",
        summary="Replace a key; the old one stops now or after grace_minutes (leads)",
        request=RotateInSerializer,
        responses={201: NewKeySerializer, **_ERRORS},
    )
    def post(self, request: Request, key_id: int) -> Response:
        key, _access = key_for(request.user, key_id)
        grace = _body(request).get("grace_minutes", 0) if request.data else 0
        created = project_key_rotate(
            key=key, actor=request.user, grace_minutes=grace, request=request
        )
        return Response({**key_json(created.obj), "key": created.secret}, status=201)


class TokenListView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="tokens_list",
        summary="Your own API tokens, prefixes only",
        responses={200: TokenSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response([token_json(t) for t in user_tokens(request.user)[:500]])

    @extend_schema(
        operation_id="tokens_create",
        summary="Create a token for yourself; the token is in this answer only",
        request=TokenInSerializer,
        responses={201: NewTokenSerializer, 400: ErrorEnvelopeSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        created = user_token_create(
            user=request.user,  # type: ignore[arg-type]
            name=str(data.get("name") or ""),
            expires_in_days=data.get("expires_in_days"),
            request=request,
        )
        return Response({**token_json(created.obj), "token": created.secret}, status=201)


class TokenRevokeView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="tokens_revoke",
        summary="Revoke one of your tokens at once",
        request=None,
        responses={
            200: TokenSerializer,
            404: ErrorEnvelopeSerializer,
            409: ErrorEnvelopeSerializer,
        },
    )
    def post(self, request: Request, token_id: int) -> Response:
        token = token_for(request.user, token_id)
        revoked = user_token_revoke(token=token, actor=request.user, request=request)
        return Response(token_json(revoked))


class TokenRotateView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="tokens_rotate",
        summary="Replace one of your tokens; the old one stops now",
        request=None,
        responses={
            201: NewTokenSerializer,
            404: ErrorEnvelopeSerializer,
            409: ErrorEnvelopeSerializer,
        },
    )
    def post(self, request: Request, token_id: int) -> Response:
        token = token_for(request.user, token_id)
        created = user_token_rotate(token=token, actor=request.user, request=request)
        return Response({**token_json(created.obj), "token": created.secret}, status=201)
