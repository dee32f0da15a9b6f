"""GET /api/v1/interactions/{request_id}: one interaction with everything known about it."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.authentication import (
    ProjectClient,
    ProjectKeyAuthentication,
    UserTokenAuthentication,
)
from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.permissions import IsKeyOrPerson
from annotation.errors import AppError
from annotation.keyset import keyset_decode, keyset_encode
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
from annotation.selectors.access import READERS, projects_for
from annotation.selectors.interactions import (
    FEEDBACK_PAGE_SIZE,
    interaction_exists,
    interaction_feedback_page,
    interaction_find,
)
from annotation.selectors.settled import queue_item_outcome

# Leads and engineers read every interaction of their projects; annotators those in a queue they
# are assigned to (with their own annotations only); a project key its own project.


class FeedbackOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = [
            "id",
            "feedback_id",
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
            "redactions",
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
    adjudication = serializers.SerializerMethodField(
        help_text="The lead's values, who and when; null when not adjudicated (or for annotators)."
    )
    settled = serializers.SerializerMethodField(
        help_text="Whether the item has final values: done, and no unadjudicated tie."
    )
    final = serializers.SerializerMethodField(
        help_text="The settled values exports and reports use; null while unsettled."
    )

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
            "adjudication",
            "settled",
            "final",
        ]

    def _reviews_visible(self) -> bool:
        # Annotators read their own annotations only: nothing settled from the others'.
        return bool(self.context.get("reviews_visible"))

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_adjudication(self, item: QueueItem) -> dict[str, object] | None:
        adjudication = getattr(item, "adjudication", None) if self._reviews_visible() else None
        if adjudication is None:
            return None
        return {
            "values": adjudication.values,
            "lead": adjudication.lead.username if adjudication.lead else None,
            "created_at": adjudication.created_at.isoformat().replace("+00:00", "Z"),
        }

    def get_settled(self, item: QueueItem) -> bool:
        outcome = queue_item_outcome(item) if self._reviews_visible() else None
        return outcome is not None and outcome.settled

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_final(self, item: QueueItem) -> dict[str, object] | None:
        outcome = queue_item_outcome(item) if self._reviews_visible() else None
        return dict(outcome.values) if outcome is not None and outcome.settled else None


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
    feedback = serializers.SerializerMethodField(
        help_text=f"Newest first, at most {FEEDBACK_PAGE_SIZE}; `feedback_next` reads on."
    )
    feedback_count = serializers.SerializerMethodField(help_text="All feedback, every page.")
    feedback_next = serializers.SerializerMethodField(
        help_text="The URL of the next page of feedback (`?feedback_cursor=`), or null."
    )
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
            "redactions",
            "received_at",
            "checked_at",
            "feedback",
            "feedback_count",
            "feedback_next",
            "flags",
            "queue_items",
            "annotations",
        ]

    @extend_schema_field(FeedbackOutSerializer(many=True))
    def get_feedback(self, interaction: Interaction) -> list[dict[str, object]]:
        return list(FeedbackOutSerializer(self.context["feedback"].rows, many=True).data)

    def get_feedback_count(self, interaction: Interaction) -> int:
        count: int = self.context["feedback"].count
        return count

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_feedback_next(self, interaction: Interaction) -> str | None:
        next_url: str | None = self.context["feedback_next"]
        return next_url

    @extend_schema_field(AnnotationOutSerializer(many=True))
    def get_annotations(self, interaction: Interaction) -> list[dict[str, object]]:
        annotations = [a for item in interaction.queue_items.all() for a in item.annotations.all()]
        return list(AnnotationOutSerializer(annotations, many=True).data)


class InteractionDetailView(APIView):
    permission_classes = [IsKeyOrPerson]
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
            ),
            OpenApiParameter(
                "feedback_cursor",
                str,
                description="Where the next page of feedback starts: from `feedback_next`.",
            ),
        ],
        responses={
            200: InteractionOutSerializer,
            400: OpenApiResponse(
                ErrorEnvelopeSerializer, description="Ambiguous request_id, or a bad cursor."
            ),
            403: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="An annotator of the project, but not assigned to a queue holding it.",
            ),
            404: OpenApiResponse(
                ErrorEnvelopeSerializer, description="Not found in your projects."
            ),
        },
    )
    def get(self, request: Request, request_id: str) -> Response:
        after = feedback_cursor_decode(request.query_params.get("feedback_cursor"))
        projects = self._readable_projects(request)
        found = interaction_find(projects=projects, request_id=request_id)
        readable = bool(found)
        if not found and not isinstance(request.user, ProjectClient):
            found = self._assigned(request, request_id)
        if not found:
            raise AppError(
                f"No interaction with request_id '{request_id}' in the projects you can read.",
                code="not_found",
                status=404,
            )
        if len(found) > 1:
            raise AppError(
                f"request_id '{request_id}' exists in several of your projects; add ?project=NAME.",
                code="ambiguous",
                details={"projects": sorted(i.project.name for i in found)},
            )
        interaction = found[0]
        page = interaction_feedback_page(interaction=interaction, after=after)
        next_url = None
        if page.next_after is not None:
            query = request.query_params.copy()
            query["feedback_cursor"] = feedback_cursor_encode(page.next_after)
            next_url = f"{request.path}?{query.urlencode()}"
        context = {"feedback": page, "feedback_next": next_url, "reviews_visible": readable}
        return Response(InteractionOutSerializer(interaction, context=context).data)

    def _assigned(self, request: Request, request_id: str) -> list[Interaction]:
        """For annotators: the interaction when it is in a queue they are assigned to."""
        projects = projects_for(request.user, (Role.ANNOTATOR,))
        name = request.query_params.get("project")
        if name:
            projects = projects.filter(name=name)
        user = cast("User", request.user)
        found = interaction_find(projects=projects, request_id=request_id, annotator=user)
        if not found and interaction_exists(projects=projects, request_id=request_id):
            raise AppError(
                f"Interaction '{request_id}' is in a project where you are an annotator; "
                "annotators read only interactions in queues assigned to them.",
                code="not_assigned",
                status=403,
            )
        return found

    def _readable_projects(self, request: Request) -> QuerySet[Project]:
        if isinstance(request.user, ProjectClient):
            projects = Project.objects.filter(pk=request.user.project.pk)
        else:
            projects = projects_for(request.user, READERS)
        name = request.query_params.get("project")
        if name:
            projects = projects.filter(name=name)
            if not projects.exists() and not self._is_annotator_in(request, name):
                raise AppError(
                    f"You cannot read project '{name}', or it does not exist.",
                    code="not_found",
                    status=404,
                )
        return projects

    @staticmethod
    def _is_annotator_in(request: Request, name: str) -> bool:
        if isinstance(request.user, ProjectClient):
            return False
        return projects_for(request.user, (Role.ANNOTATOR,)).filter(name=name).exists()


def feedback_cursor_encode(after: tuple[datetime, int]) -> str:
    return keyset_encode(after)


def feedback_cursor_decode(cursor: str | None) -> tuple[datetime, int] | None:
    """The keyset a `feedback_cursor` stands for; a 400 naming it when it is not one of ours."""
    if not cursor:
        return None
    try:
        return keyset_decode(cursor)
    except ValueError:
        raise AppError(
            "`feedback_cursor` is not a cursor from this API; use the `feedback_next` URL as is.",
            code="invalid_cursor",
            details={"field": "feedback_cursor"},
        ) from None
