"""Working on leased items: submit an annotation, skip, revise, adjudicate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.errors import AppError
from annotation.models import Interaction, Role
from annotation.models.review import Adjudication, Annotation, LeaseState, Queue
from annotation.selectors.access import LEADS, annotation_standing, item_standing
from annotation.services.annotations import annotation_revise, annotation_submit, item_adjudicate
from annotation.services.leasing import Leased, lease_skip, skip_undo


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
        "schema": (leased.queue or queue).schema,
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


class ValuesField(serializers.JSONField):
    """Any parsed JSON, kept as it is: the label schema validates it and names each bad field
    (`values.rating`), where DRF's check would only say `values` for an out-of-range number."""

    def to_internal_value(self, data: Any) -> Any:
        return data


class AnnotationInSerializer(serializers.Serializer):
    values = ValuesField(help_text="Field name to value, per the queue's schema.")
    seconds = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Time spent; measured from the lease when left out.",
    )


def _parse(request: Request, refuse: Callable[[], None]) -> dict[str, Any]:
    """The body's values; an invalid body is refused after `refuse` had its say on access, so a
    caller who may not touch the object learns nothing more from a bad body than a good one."""
    serializer = AnnotationInSerializer(data=request.data)
    if not serializer.is_valid():
        refuse()
        raise AppError(
            'Send {"values": {...}} with the fields of the queue\'s schema.',
            code="invalid_annotation",
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
    403: OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="Someone else's lease, or you are no longer assigned to the queue or a "
        "member of its project (not_assigned).",
    ),
    404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such item of yours."),
    409: OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="No lease, lease expired and slot taken, already submitted, or skipped.",
    ),
}


class ItemAnnotationsView(APIView):
    @extend_schema(
        operation_id="items_annotate",
        summary="Submit your annotation of a leased item",
        request=AnnotationInSerializer,
        responses={201: AnnotationSerializer, **_ERRORS},
        examples=[ANNOTATION_EXAMPLE],
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = _parse(request, lambda: item_standing(request.user, item_id, (Role.ANNOTATOR,)))
        annotation = annotation_submit(
            item_id=item_id,
            annotator=request.user,  # type: ignore[arg-type]
            values=data["values"],
            seconds=data.get("seconds"),
        )
        return Response(annotation_body(annotation), status=201)


class SkipOutSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    state = serializers.CharField(help_text="The item's state after the skip or its undo.")


class SkipUndoneSerializer(SkipOutSerializer):
    lease = LeaseSerializer(
        allow_null=True,
        help_text="Your new lease on the item; null when every free slot is leased (it is "
        "offered to you again once one frees).",
    )


class ItemSkipView(APIView):
    @extend_schema(
        operation_id="items_skip",
        summary="Skip a leased item; it is not offered to you again unless you undo the skip",
        description="An item nobody left can bring to its overlap is settled on the annotations "
        "it has (done, or needs_adjudication below the queue's min_annotations_to_settle); it "
        "is `skipped` only when it has none.",
        request=None,
        responses={200: SkipOutSerializer, **_ERRORS},
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = lease_skip(item_id=item_id, annotator=request.user)  # type: ignore[arg-type]
        return Response({"item": item.pk, "state": item.state})

    @extend_schema(
        operation_id="items_skip_undo",
        summary="Undo your skip while the item is open; it is leased to you again",
        description="Allowed while the item is open, in progress or skipped (never settled). "
        "With a free slot you get a new lease on it, and a lease you hold on another item of "
        "the queue is handed back; otherwise `lease` is null and the item is offered to you "
        "again once a slot frees.",
        request=None,
        responses={200: SkipUndoneSerializer, **_ERRORS},
    )
    def delete(self, request: Request, item_id: int) -> Response:
        undone = skip_undo(item_id=item_id, annotator=request.user)  # type: ignore[arg-type]
        lease = undone.lease
        return Response(
            {
                "item": undone.item.pk,
                "state": undone.item.state,
                "lease": {"leased_at": lease.leased_at, "expires_at": lease.expires_at}
                if lease.state == LeaseState.ACTIVE
                else None,
            }
        )


class AnnotationDetailView(APIView):
    @extend_schema(
        operation_id="annotations_revise",
        summary="Revise your annotation while its item is not done",
        request=AnnotationInSerializer,
        responses={200: AnnotationSerializer, **_ERRORS},
        examples=[ANNOTATION_EXAMPLE],
    )
    def patch(self, request: Request, annotation_id: int) -> Response:
        data = _parse(request, lambda: annotation_standing(request.user, annotation_id))
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


class ItemAdjudicationView(APIView):
    @extend_schema(
        operation_id="items_adjudicate",
        summary="Settle an item its annotators disagreed on (leads)",
        request=AnnotationInSerializer,
        responses={201: AdjudicationSerializer, **_ERRORS},
        examples=[ANNOTATION_EXAMPLE],
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = _parse(request, lambda: item_standing(request.user, item_id, LEADS))
        adjudication = item_adjudicate(
            item_id=item_id,
            lead=request.user,  # type: ignore[arg-type]
            values=data["values"],
        )
        return Response(AdjudicationSerializer(adjudication).data, status=201)
