from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from annotation.models import Annotation, Feedback, Flag, Interaction, Project, QueueItem


def interactions_with_feedback() -> QuerySet[Interaction]:
    return Interaction.objects.select_related("project").prefetch_related(
        Prefetch("feedback", queryset=Feedback.objects.order_by("timestamp", "id")),
        Prefetch(
            "flags",
            queryset=Flag.objects.select_related("check_config").order_by("-severity", "id"),
        ),
        Prefetch(
            "queue_items",
            queryset=QueueItem.objects.select_related("queue").prefetch_related(
                Prefetch(
                    "annotations",
                    queryset=Annotation.objects.select_related("annotator", "guideline").order_by(
                        "created_at"
                    ),
                )
            ),
        ),
    )


def interaction_find(*, projects: QuerySet[Project], request_id: str) -> list[Interaction]:
    """The interactions with `request_id` in any of `projects`, with their feedback."""
    return list(
        interactions_with_feedback().filter(project__in=projects, request_id=request_id)[:2]
    )
