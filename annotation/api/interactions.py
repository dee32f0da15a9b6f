"""GET /api/v1/interactions/{request_id}: one interaction with everything known about it."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.authentication import (
    ProjectClient,
    ProjectKeyAuthentication,
    UserTokenAuthentication,
)
from annotation.api.errors import ApiError
from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.models import (
    Annotation,
    Feedback,
    Flag,
    Interaction,
    Project,
    QueueItem,
    Role,
    Severity,
)
from annotation.selectors.interactions import interaction_find
from annotation.selectors.projects import projects_for_user

READER_ROLES = (Role.LEAD, Role.ENGINEER)


class FeedbackOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = [
            "id",
            "kind",
            "source",
            "value",
            "scale",
            "normalized_score",
            "labels",
            "text",
            "event",
            "user_id",
            "metadata",
            "timestamp",
            "received_at",
        ]


class FlagOutSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="check_config.name")
    check_type = serializers.CharField(source="check_config.type")
    severity = serializers.SerializerMethodField()
    rationale = serializers.SerializerMethodField()

    class Meta:
        model = Flag
        fields = [
            "check",
            "check_type",
            "flagged",
            "severity",
            "score",
            "spans",
            "label",
            "rationale",
            "created_at",
        ]

    def get_severity(self, flag: Flag) -> str:
        return Severity(flag.severity).label

    def get_rationale(self, flag: Flag) -> str | None:
        return flag.rationale or None


class QueueItemOutSerializer(serializers.ModelSerializer):
    queue = serializers.CharField(source="queue.name")
    queue_id = serializers.IntegerField()

    class Meta:
        model = QueueItem
        fields = [
            "id",
            "queue_id",
            "queue",
            "state",
            "reasons",
            "inclusion_probability",
            "priority",
        ]


class AnnotationOutSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username")
    queue_id = serializers.IntegerField(source="item.queue_id")
    guideline_version = serializers.IntegerField(source="guideline.version", allow_null=True)

    class Meta:
        model = Annotation
        fields = [
            "id",
            "item_id",
            "queue_id",
            "annotator",
            "values",
            "guideline_version",
            "seconds",
            "revision",
            "created_at",
            "updated_at",
        ]


class InteractionOutSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    feedback = FeedbackOutSerializer(many=True)
    flags = FlagOutSerializer(many=True)
    queue_items = QueueItemOutSerializer(many=True)
    annotations = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "request_id",
            "project",
            "timestamp",
            "model",
            "model_version",
            "prompt_template",
            "prompt_template_version",
            "messages",
            "response",
            "retrieved_context",
            "user_id",
            "session_id",
            "experiment",
            "variant",
            "latency_ms",
            "tokens_in",
            "tokens_out",
            "cost",
            "metadata",
            "received_at",
            "checked_at",
            "feedback",
            "flags",
            "queue_items",
            "annotations",
        ]

    @extend_schema_field(AnnotationOutSerializer(many=True))
    def get_annotations(self, interaction: Interaction) -> list[dict[str, object]]:
        annotations = [a for item in interaction.queue_items.all() for a in item.annotations.all()]
        return list(AnnotationOutSerializer(annotations, many=True).data)


class InteractionDetailView(APIView):
    authentication_classes = [
        ProjectKeyAuthentication,
        UserTokenAuthentication,
        SessionAuthentication,
    ]

    @extend_schema(
        operation_id="interaction_get",
        summary="An interaction with all its feedback",
        parameters=[
            OpenApiParameter(
                "project",
                str,
                description="Project name; needed when the request_id exists in several of yours.",
            )
        ],
        responses={
            200: InteractionOutSerializer,
            400: OpenApiResponse(ErrorEnvelopeSerializer, description="Ambiguous request_id."),
            404: OpenApiResponse(
                ErrorEnvelopeSerializer, description="Not found in your projects."
            ),
        },
    )
    def get(self, request: Request, request_id: str) -> Response:
        projects = self._readable_projects(request)
        found = interaction_find(projects=projects, request_id=request_id)
        if not found:
            raise ApiError(
                "not_found",
                f"No interaction with request_id '{request_id}' in the projects you can read.",
                status_code=status.HTTP_404_NOT_FOUND,
            )
        if len(found) > 1:
            raise ApiError(
                "ambiguous",
                f"request_id '{request_id}' exists in several of your projects; add ?project=NAME.",
                details={"projects": sorted(i.project.name for i in found)},
            )
        return Response(InteractionOutSerializer(found[0]).data)

    def _readable_projects(self, request: Request) -> QuerySet[Project]:
        if isinstance(request.user, ProjectClient):
            projects = Project.objects.filter(pk=request.user.project.pk)
        else:
            projects = projects_for_user(request.user, roles=READER_ROLES)
        name = request.query_params.get("project")
        if name:
            projects = projects.filter(name=name)
            if not projects.exists():
                raise ApiError(
                    "not_found",
                    f"You cannot read project '{name}', or it does not exist.",
                    status_code=status.HTTP_404_NOT_FOUND,
                )
        return projects
