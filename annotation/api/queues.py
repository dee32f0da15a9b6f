"""Review queues over the API: definitions, fills, progress, and leasing the next item.

Leads of a project create and edit its queues and start fills; engineers read them; annotators
see only the queues they are assigned to, and lease items from them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.items import LeasedSerializer, leased_body
from annotation.api.review import not_found
from annotation.errors import AppError
from annotation.models import Project
from annotation.models.review import (
    MAX_FILL_EVERY_MINUTES,
    MAX_OVERLAP,
    Guideline,
    Queue,
    QueueFill,
    QueueState,
)
from annotation.selectors.access import (
    LEADS,
    MEMBERS,
    READERS,
    QueueAccess,
    project_access,
    queue_for,
    queues_for,
)
from annotation.selectors.queue_brief import queue_brief
from annotation.selectors.queues import (
    queue_stats,
    with_last_fill,
)
from annotation.selectors.sampling import queue_sample_preview
from annotation.services.leasing import lease_next
from annotation.services.queues import queue_create, queue_fill_request, queue_update


def readable_queue(request: Request, queue_id: int) -> QueueAccess:
    return queue_for(request.user, queue_id, MEMBERS)


def lead_queue(request: Request, queue_id: int) -> QueueAccess:
    return queue_for(request.user, queue_id, LEADS)


def reader_queue(request: Request, queue_id: int) -> QueueAccess:
    return queue_for(request.user, queue_id, READERS)


# -- serializers ---------------------------------------------------------------------------------


class FillSerializer(serializers.ModelSerializer):
    capacity_reached = serializers.BooleanField(read_only=True)

    class Meta:
        model = QueueFill
        fields = [
            "id",
            "queue",
            "status",
            "trigger",
            "task_id",
            "added",
            "by_reason",
            "room",
            "capacity_reached",
            "strata",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class QueueSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.name")
    annotators = serializers.SerializerMethodField()
    guideline_version = serializers.SerializerMethodField(
        help_text="The pinned guideline version; null follows the project's latest."
    )
    last_fill = serializers.SerializerMethodField()

    class Meta:
        model = Queue
        fields = [
            "id",
            "project",
            "name",
            "description",
            "state",
            "sources",
            "filters",
            "priority",
            "schema",
            "overlap",
            "min_annotations_to_settle",
            "capacity",
            "lease_minutes",
            "annotators",
            "guideline_version",
            "seed",
            "fill_every_minutes",
            "next_fill_at",
            "last_fill",
            "created_at",
            "updated_at",
        ]

    def get_annotators(self, queue: Queue) -> list[str]:
        return sorted(user.username for user in queue.annotators.all())

    def get_guideline_version(self, queue: Queue) -> int | None:
        return queue.guideline.version if queue.guideline else None

    def get_last_fill(self, queue: Queue) -> dict[str, Any] | None:
        prefetched = getattr(queue, "last_fills", None)  # the list's `with_last_fill`
        if prefetched is not None:
            fill = prefetched[0] if prefetched else None
        else:
            fill = queue.fills.order_by("-created_at", "-id").first()
        return dict(FillSerializer(fill).data) if fill else None


class QueueInSerializer(serializers.Serializer):
    project = serializers.CharField(required=False, help_text="Project name; needed on create.")
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    sources = serializers.JSONField(required=False)
    filters = serializers.JSONField(required=False)
    priority = serializers.ListField(child=serializers.CharField(), required=False)
    schema = serializers.JSONField(required=False)
    overlap = serializers.IntegerField(min_value=1, max_value=MAX_OVERLAP, required=False)
    min_annotations_to_settle = serializers.IntegerField(
        min_value=1,
        max_value=MAX_OVERLAP,
        allow_null=True,
        required=False,
        help_text="An item that can no longer reach its overlap is settled on this many "
        "annotations (1 to the overlap); fewer go to adjudication. Null: the overlap.",
    )
    capacity = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False)
    annotators = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Usernames."
    )
    state = serializers.ChoiceField(choices=QueueState.choices, required=False)
    guideline_version = serializers.IntegerField(
        min_value=1,
        allow_null=True,
        required=False,
        help_text="Pin a version; null follows the latest.",
    )
    seed = serializers.IntegerField(min_value=0, max_value=2**62, required=False)
    fill_every_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_FILL_EVERY_MINUTES, allow_null=True, required=False
    )


QUEUE_EXAMPLE = {
    "project": "support-bot",
    "name": "Weekly review",
    "sources": [
        {"type": "low_rated", "threshold": 0.4},
        {"type": "flagged", "checks": ["pii", "blocklist"], "min_severity": "warning"},
        {"type": "random", "rate": 0.01, "seed": 7},
    ],
    "filters": {"model_version": ["2026-10-01"], "since": "2026-11-01T00:00:00Z"},
    "overlap": 3,
    "capacity": 500,
    "lease_minutes": 15,
    "annotators": ["ann1", "ann2", "ann3"],
    "fill_every_minutes": 60,
    "schema": {
        "fields": [
            {
                "name": "verdict",
                "type": "choice",
                "options": ["good", "bad"],
                "required": True,
                "agreement": True,
            },
            {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
            {"name": "rating", "type": "likert", "min": 1, "max": 5},
            {"name": "correction", "type": "correction"},
            {"name": "comment", "type": "text"},
        ]
    },
}
_ERRORS = {
    400: OpenApiResponse(ErrorEnvelopeSerializer, description="Invalid definition."),
    403: OpenApiResponse(ErrorEnvelopeSerializer, description="Not allowed to you."),
    404: OpenApiResponse(ErrorEnvelopeSerializer, description="Not found or not visible."),
}


def _changes(data: dict[str, Any], project: Project) -> tuple[dict[str, Any], list[User] | None]:
    """Model field values from validated input; usernames and versions resolved."""
    changes = {
        k: v for k, v in data.items() if k not in ("project", "annotators", "guideline_version")
    }
    if "guideline_version" in data:
        version = data["guideline_version"]
        guideline = None
        if version is not None:
            guideline = Guideline.objects.filter(project=project, version=version).first()
            if guideline is None:
                raise AppError(
                    f"Project {project.name} has no guideline version {version}.",
                    code="invalid_queue",
                    details={
                        "guideline_version": ["publish it first with POST /api/v1/guidelines"]
                    },
                )
        changes["guideline"] = guideline
    annotators = None
    if "annotators" in data:
        names = list(dict.fromkeys(data["annotators"]))
        found = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
        unknown = [name for name in names if name not in found]
        if unknown:
            raise AppError(
                "Some annotators do not exist.",
                code="invalid_queue",
                details={"annotators": [f"unknown users: {', '.join(unknown)}"]},
            )
        annotators = [found[name] for name in names]
    return changes, annotators


def _parse(serializer: serializers.Serializer) -> dict[str, Any]:
    if not serializer.is_valid():
        raise AppError(
            "The queue definition is not valid; fix the fields listed in details.",
            code="invalid_queue",
            details=serializer.errors,
        )
    return dict(serializer.validated_data)


# -- views ---------------------------------------------------------------------------------------


class QueueListView(APIView):
    invalid_code = "invalid_queue"

    @extend_schema(
        operation_id="queues_list",
        summary="Queues you can see",
        description="Leads and engineers see every queue of their projects; annotators the "
        "queues they are assigned to.",
        parameters=[
            OpenApiParameter("project", str, description="Only this project's queues."),
            OpenApiParameter("state", str, enum=[s.value for s in QueueState]),
        ],
        responses={200: QueueSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        queues = with_last_fill(queues_for(request.user)).prefetch_related("annotators")
        if request.query_params.get("project"):
            queues = queues.filter(project__name=request.query_params["project"])
        if request.query_params.get("state"):
            queues = queues.filter(state=request.query_params["state"])
        return Response(QueueSerializer(queues, many=True).data)

    @extend_schema(
        operation_id="queues_create",
        summary="Create a queue (leads)",
        request=QueueInSerializer,
        responses={201: QueueSerializer, **_ERRORS},
        examples=[OpenApiExample("Weekly review", value=QUEUE_EXAMPLE, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = _parse(QueueInSerializer(data=request.data))
        missing = [key for key in ("project", "name", "sources", "schema") if key not in data]
        if missing:
            raise AppError(
                "A new queue needs a project, name, sources and schema.",
                code="invalid_queue",
                details={key: ["This field is required."] for key in missing},
            )
        project = project_access(request.user, data["project"], LEADS).project
        changes, annotators = _changes(data, project)
        if Queue.objects.filter(project=project, name=changes["name"]).exists():
            raise AppError(
                f"Project {project.name} already has a queue named '{changes['name']}'.",
                code="invalid_queue",
                details={"name": ["choose another name, or PATCH the existing queue"]},
            )
        queue = queue_create(
            project=project,
            created_by=request.user,  # type: ignore[arg-type]
            annotators=annotators or [],
            **changes,
        )
        return Response(QueueSerializer(queue).data, status=201)


class QueueDetailView(APIView):
    invalid_code = "invalid_queue"

    @extend_schema(
        operation_id="queues_get",
        summary="A queue's definition and last fill",
        responses={200: QueueSerializer, 404: _ERRORS[404]},
    )
    def get(self, request: Request, queue_id: int) -> Response:
        access = readable_queue(request, queue_id)
        return Response(QueueSerializer(access.queue).data)

    @extend_schema(
        operation_id="queues_update",
        summary="Change a queue (leads)",
        description="Items already queued keep their reasons, probability and overlap.",
        request=QueueInSerializer,
        responses={200: QueueSerializer, **_ERRORS},
        examples=[
            OpenApiExample("Pause it", value={"state": "paused"}, request_only=True),
            OpenApiExample(
                "More annotators, higher overlap",
                value={"annotators": ["ann1", "ann2", "ann3", "ann4"], "overlap": 4},
                request_only=True,
            ),
        ],
    )
    def patch(self, request: Request, queue_id: int) -> Response:
        access = lead_queue(request, queue_id)
        data = _parse(QueueInSerializer(data=request.data, partial=True))
        if "project" in data and data["project"] != access.queue.project.name:
            raise AppError(
                "A queue cannot move to another project.",
                code="invalid_queue",
                details={"project": ["leave it out"]},
            )
        changes, annotators = _changes(data, access.queue.project)
        if (
            "name" in changes
            and Queue.objects.filter(project=access.queue.project, name=changes["name"])
            .exclude(pk=queue_id)
            .exists()
        ):
            raise AppError(
                f"Another queue is named '{changes['name']}'.",
                code="invalid_queue",
                details={"name": ["choose another name"]},
            )
        queue = queue_update(queue=access.queue, annotators=annotators, **changes)
        return Response(QueueSerializer(queue).data)


class QueueFillView(APIView):
    @extend_schema(
        operation_id="queues_fill",
        summary="Fill the queue now (leads); a Celery task",
        description="Returns the fill at once (202); poll GET /api/v1/queues/{id}/fill/{fill_id} "
        "for its counts by reason.",
        request=None,
        responses={202: FillSerializer, **_ERRORS},
        examples=[
            OpenApiExample(
                "Started",
                response_only=True,
                status_codes=["202"],
                value={
                    "id": 12,
                    "queue": 3,
                    "status": "pending",
                    "trigger": "manual",
                    "task_id": "0b7e6d2c-…",
                    "added": 0,
                    "by_reason": {},
                    "room": None,
                    "capacity_reached": False,
                    "error": "",
                    "created_at": "2026-11-20T10:00:00Z",
                    "started_at": None,
                    "finished_at": None,
                },
            )
        ],
    )
    def post(self, request: Request, queue_id: int) -> Response:
        access = lead_queue(request, queue_id)
        try:
            fill = queue_fill_request(queue=access.queue, requested_by=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise AppError(exc.messages[0], code="queue_archived", status=409) from None
        fill.refresh_from_db()
        return Response(FillSerializer(fill).data, status=202)


class QueueFillDetailView(APIView):
    @extend_schema(
        operation_id="queues_fill_get",
        summary="A fill's status and counts by reason",
        responses={200: FillSerializer, **_ERRORS},
        examples=[
            OpenApiExample(
                "Done",
                response_only=True,
                value={
                    "id": 12,
                    "queue": 3,
                    "status": "done",
                    "trigger": "manual",
                    "task_id": "0b7e6d2c-…",
                    "added": 195,
                    "by_reason": {"low_rated": 100, "flagged": 12, "random": 97},
                    "room": 500,
                    "capacity_reached": False,
                    "error": "",
                    "created_at": "2026-11-20T10:00:00Z",
                    "started_at": "2026-11-20T10:00:01Z",
                    "finished_at": "2026-11-20T10:00:02Z",
                },
            )
        ],
    )
    def get(self, request: Request, queue_id: int, fill_id: int) -> Response:
        access = reader_queue(request, queue_id)
        fill = QueueFill.objects.filter(queue=access.queue, pk=fill_id).first()
        if fill is None:
            raise not_found(f"Fill {fill_id} of queue {queue_id}")
        return Response(FillSerializer(fill).data)


class QueueFillPreviewView(APIView):
    @extend_schema(
        operation_id="queues_fill_preview",
        summary="What a fill would add now, by source, without adding it",
        responses={
            200: OpenApiResponse(description="Counts of candidates and of what fits capacity."),
            **_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Preview",
                response_only=True,
                value={
                    "room": 500,
                    "candidates": 1210,
                    "candidates_by_reason": {"low_rated": 1000, "flagged": 60, "random": 172},
                    "would_add": 500,
                    "would_add_by_reason": {"low_rated": 450, "flagged": 60, "random": 7},
                    "strata": {
                        "flagged": {"candidates": 60, "taken": 60},
                        "low_rated": {"candidates": 990, "taken": 440},
                        "random": {"candidates": 160, "taken": 0},
                    },
                },
            )
        ],
    )
    def get(self, request: Request, queue_id: int) -> Response:
        access = reader_queue(request, queue_id)
        preview = queue_sample_preview(queue=access.queue)
        return Response(
            {
                "room": preview.room,
                "candidates": preview.candidates,
                "candidates_by_reason": preview.candidates_by_reason,
                "would_add": preview.would_add,
                "would_add_by_reason": preview.would_add_by_reason,
                "strata": preview.strata,
            }
        )


class QueueStatsView(APIView):
    @extend_schema(
        operation_id="queues_stats",
        summary="Progress: items by state and reason, work per annotator, pace",
        responses={200: OpenApiResponse(description="Queue statistics."), **_ERRORS},
        examples=[
            OpenApiExample(
                "Stats",
                response_only=True,
                value={
                    "total": 195,
                    "by_state": {
                        "open": 120,
                        "in_progress": 5,
                        "needs_adjudication": 0,
                        "done": 70,
                        "skipped": 0,
                    },
                    "by_reason": {"low_rated": 100, "random": 97},
                    "annotations": 212,
                    "skips": 2,
                    "skip_rate": 0.0093,
                    "median_seconds": 21.5,
                    "throughput_per_hour": 38,
                    "throughput_per_hour_24h": 8.83,
                    "annotators": [
                        {"username": "ann1", "done": 40, "skipped": 2, "median_seconds": 21.5}
                    ],
                },
            )
        ],
    )
    def get(self, request: Request, queue_id: int) -> Response:
        access = reader_queue(request, queue_id)
        return Response(queue_stats(access.queue))


class QueueNextView(APIView):
    @extend_schema(
        operation_id="queues_next",
        summary="Lease the next item to the caller",
        description="The highest-priority item the caller has not worked on, oldest first, "
        "leased for the queue's lease minutes. An unexpired lease the caller already holds in "
        "this queue is returned again. 204 when nothing is left.",
        request=None,
        responses={
            200: LeasedSerializer,
            204: OpenApiResponse(description="Nothing left for you in this queue."),
            403: _ERRORS[403],
            404: _ERRORS[404],
            409: OpenApiResponse(ErrorEnvelopeSerializer, description="Queue paused or archived."),
        },
    )
    def post(self, request: Request, queue_id: int) -> Response:
        # The hot path: lease_next checks the assignment itself (404 for non-members).
        # The definition comes from the per-queue cache; the leasing statement reads the rest.
        queue = queue_brief(queue_id)
        if queue is None:
            raise not_found(f"Queue {queue_id}")
        leased = lease_next(queue=queue, annotator=request.user)  # type: ignore[arg-type]
        if leased is None:
            return Response(status=204)
        return Response(leased_body(leased, queue))
