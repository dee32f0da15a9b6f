"""Working on leased items: submit an annotation, skip, revise, adjudicate."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.errors import ApiError
from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.review import ReviewAPIView
from annotation.models import Interaction
from annotation.models.review import Adjudication, Annotation, Queue
from annotation.services.annotations import annotation_revise, annotation_submit, item_adjudicate
from annotation.services.leasing import Leased, lease_skip


class ItemInteractionSerializer(serializers.ModelSerializer):
    """What an annotator needs to judge a response (no user ids, no earlier feedback)."""

    class Meta:
        model = Interaction
        fields = [
            "request_id",
            "timestamp",
            "model",
            "model_version",
            "prompt_template",
            "prompt_template_version",
            "messages",
            "response",
            "retrieved_context",
            "experiment",
            "variant",
            "metadata",
        ]


class LeasedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    interaction = ItemInteractionSerializer()
    reasons = serializers.ListField(child=serializers.CharField())
    inclusion_probability = serializers.FloatField()
    annotations_wanted = serializers.IntegerField()
    annotations_done = serializers.IntegerField()


class LeaseSerializer(serializers.Serializer):
    leased_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class GuidelineBriefSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    text = serializers.CharField()


class LeasedSerializer(serializers.Serializer):
    item = LeasedItemSerializer()
    lease = LeaseSerializer()
    schema = serializers.JSONField()
    guideline = GuidelineBriefSerializer(allow_null=True)


def interaction_body(interaction: Interaction) -> dict[str, Any]:
    """ItemInteractionSerializer's output, built directly: `next` is the annotators' hot path."""
    return {name: getattr(interaction, name) for name in ItemInteractionSerializer.Meta.fields}


def annotation_body(annotation: Annotation) -> dict[str, Any]:
    """AnnotationSerializer's output, built directly (the submit hot path)."""
    guideline = annotation.guideline
    return {
        "id": annotation.pk,
        "item": annotation.item_id,
        "annotator": annotation.annotator.username,
        "values": annotation.values,
        "guideline_version": guideline.version if guideline else None,
        "seconds": annotation.seconds,
        "revision": annotation.revision,
        "item_state": annotation.item.state,
        "created_at": annotation.created_at,
        "updated_at": annotation.updated_at,
    }


def leased_body(leased: Leased, queue: Queue) -> dict[str, Any]:
    item = leased.item
    guideline = leased.guideline
    return {
        "item": {
            "id": item.pk,
            "interaction": interaction_body(item.interaction),
            "reasons": item.reasons,
            "inclusion_probability": item.inclusion_probability,
            "annotations_wanted": item.annotations_wanted,
            "annotations_done": item.annotations_done,
        },
        "lease": {
            "leased_at": leased.lease.leased_at,
            "expires_at": leased.lease.expires_at,
        },
        "schema": queue.schema,
        "guideline": {"version": guideline.version, "text": guideline.text} if guideline else None,
    }


class AnnotationSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username")
    guideline_version = serializers.SerializerMethodField()
    item_state = serializers.CharField(source="item.state")

    class Meta:
        model = Annotation
        fields = [
            "id",
            "item",
            "annotator",
            "values",
            "guideline_version",
            "seconds",
            "revision",
            "item_state",
            "created_at",
            "updated_at",
        ]

    def get_guideline_version(self, annotation: Annotation) -> int | None:
        return annotation.guideline.version if annotation.guideline else None


class AnnotationInSerializer(serializers.Serializer):
    values = serializers.JSONField(help_text="Field name to value, per the queue's schema.")
    seconds = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Time spent; measured from the lease when left out.",
    )


def _parse(request: Request) -> dict[str, Any]:
    serializer = AnnotationInSerializer(data=request.data)
    if not serializer.is_valid():
        raise ApiError(
            "invalid_annotation",
            'Send {"values": {...}} with the fields of the queue\'s schema.',
            details=serializer.errors,
        )
    return dict(serializer.validated_data)


ANNOTATION_EXAMPLE = OpenApiExample(
    "A verdict with reasons and a correction",
    request_only=True,
    value={
        "values": {
            "verdict": "bad",
            "reasons": ["incorrect"],
            "rating": 2,
            "correction": "Open Settings, then Security, then Reset password.",
            "comment": "Missed the second step.",
        }
    },
)
_ERRORS = {
    400: OpenApiResponse(ErrorEnvelopeSerializer, description="Values do not match the schema."),
    403: OpenApiResponse(ErrorEnvelopeSerializer, description="Someone else's lease."),
    404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such item of yours."),
    409: OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="No lease, lease expired and slot taken, already submitted, or skipped.",
    ),
}


class ItemAnnotationsView(ReviewAPIView):
    @extend_schema(
        operation_id="items_annotate",
        summary="Submit your annotation of a leased item",
        request=AnnotationInSerializer,
        responses={201: AnnotationSerializer, **_ERRORS},
        examples=[ANNOTATION_EXAMPLE],
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = _parse(request)
        annotation = annotation_submit(
            item_id=item_id,
            annotator=request.user,  # type: ignore[arg-type]
            values=data["values"],
            seconds=data.get("seconds"),
        )
        return Response(annotation_body(annotation), status=status.HTTP_201_CREATED)


class ItemSkipView(ReviewAPIView):
    @extend_schema(
        operation_id="items_skip",
        summary="Skip a leased item; it is not offered to you again",
        request=None,
        responses={
            200: OpenApiResponse(description='{"item": id, "state": "open"}'),
            **_ERRORS,
        },
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = lease_skip(item_id=item_id, annotator=request.user)  # type: ignore[arg-type]
        return Response({"item": item.pk, "state": item.state})


class AnnotationDetailView(ReviewAPIView):
    @extend_schema(
        operation_id="annotations_revise",
        summary="Revise your annotation while its item is not done",
        request=AnnotationInSerializer,
        responses={200: AnnotationSerializer, **_ERRORS},
        examples=[ANNOTATION_EXAMPLE],
    )
    def patch(self, request: Request, annotation_id: int) -> Response:
        data = _parse(request)
        annotation = annotation_revise(
            annotation_id=annotation_id,
            annotator=request.user,  # type: ignore[arg-type]
            values=data["values"],
            seconds=data.get("seconds"),
        )
        return Response(annotation_body(annotation))


class AdjudicationSerializer(serializers.ModelSerializer):
    lead = serializers.CharField(source="lead.username", allow_null=True)

    class Meta:
        model = Adjudication
        fields = ["id", "item", "lead", "values", "created_at"]


class ItemAdjudicationView(ReviewAPIView):
    @extend_schema(
        operation_id="items_adjudicate",
        summary="Settle an item its annotators disagreed on (leads)",
        request=AnnotationInSerializer,
        responses={201: AdjudicationSerializer, **_ERRORS},
        examples=[ANNOTATION_EXAMPLE],
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = _parse(request)
        adjudication = item_adjudicate(
            item_id=item_id,
            lead=request.user,  # type: ignore[arg-type]
            values=data["values"],
        )
        return Response(AdjudicationSerializer(adjudication).data, status=status.HTTP_201_CREATED)
