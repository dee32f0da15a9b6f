from __future__ import annotations

from django.db import models

from annotation.models.interaction import Interaction
from annotation.models.project import Project


class FeedbackKind(models.TextChoices):
    RATING = "rating"
    LABEL = "label"
    CORRECTION = "correction"
    COMMENT = "comment"
    IMPLICIT = "implicit"


class RatingScale(models.TextChoices):
    THUMBS = "thumbs", "Thumbs (0 down, 1 up)"
    STARS5 = "stars5", "Stars 1-5"
    SCORE10 = "score10", "Score 0-10"


class ImplicitEvent(models.TextChoices):
    COPY = "copy"
    CLICK = "click"
    DWELL = "dwell"
    TASK_COMPLETED = "task_completed"
    ABANDONED = "abandoned"
    REPHRASED = "rephrased"
    REGENERATED = "regenerated"


NEGATIVE_IMPLICIT_EVENTS = (
    ImplicitEvent.ABANDONED,
    ImplicitEvent.REPHRASED,
    ImplicitEvent.REGENERATED,
)


class FeedbackSource(models.TextChoices):
    USER = "user"
    AUTOMATED = "automated"
    REVIEWER = "reviewer"


class Feedback(models.Model):
    """A rating, label, correction, comment or implicit event about one interaction.

    Linked by `request_id`; `interaction` stays empty until the interaction arrives, so feedback
    sent first is never dropped.
    """

    # Like Interaction: no per-row foreign-key triggers on this hot table; Django cascades deletes,
    # and the composite indexes below serve the look-ups.
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="feedback",
        db_constraint=False,
        db_index=False,
    )
    request_id = models.CharField(max_length=255)
    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.CASCADE,
        related_name="feedback",
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(max_length=16, choices=FeedbackKind.choices)
    source = models.CharField(
        max_length=16, choices=FeedbackSource.choices, default=FeedbackSource.USER
    )
    value = models.FloatField(null=True, blank=True, help_text="Raw rating or implicit value.")
    scale = models.CharField(max_length=16, choices=RatingScale.choices, blank=True)
    normalized_score = models.FloatField(
        null=True, blank=True, help_text="Rating mapped to [0, 1]."
    )
    labels = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    event = models.CharField(max_length=32, choices=ImplicitEvent.choices, blank=True)
    user_id = models.CharField(
        max_length=64, blank=True, help_text="Keyed hash of the app's user id."
    )
    metadata = models.JSONField(default=dict, blank=True)
    # What the project's privacy mode took out at ingestion: the kinds redacted and where the
    # placeholders are (never the values), or the fields dropped. Null: stored as received.
    redactions = models.JSONField(null=True, blank=True)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    # A database default too, so bulk loads that predate the column keep working.
    feedback_id = models.CharField(
        max_length=255,
        blank=True,
        default="",
        db_default="",
        help_text="The application's id for it; makes retries safe.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "feedback_id"],
                condition=~models.Q(feedback_id=""),
                name="feedback_id_unique_per_project",
            )
        ]
        indexes = [
            models.Index(fields=["project", "request_id"], name="feedback_request_id"),
            models.Index(fields=["interaction", "kind"], name="feedback_interaction_kind"),
            models.Index(
                fields=["project", "normalized_score"],
                name="feedback_rating",
                condition=models.Q(kind="rating"),
            ),
            models.Index(fields=["project", "timestamp"], name="feedback_project_time"),
            # Feedback still waiting for its interaction: a small set, probed on every ingest.
            models.Index(
                fields=["project", "request_id"],
                name="feedback_unlinked",
                condition=models.Q(interaction__isnull=True),
            ),
            # An interaction's feedback, newest first, paged by (timestamp, id): the read-back.
            models.Index(
                fields=["interaction", "-timestamp", "-id"], name="feedback_interaction_page"
            ),
        ]
        # No default ordering: every query that needs an order says which (and an index serves).

    def __str__(self) -> str:
        return f"{self.kind} on {self.request_id}"
