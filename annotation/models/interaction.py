from __future__ import annotations

from django.db import models

from annotation.models.project import Project


class Interaction(models.Model):
    """One prompt and the model's response, as the application saw it.

    Rows are written by the bulk ingestion path (COPY on PostgreSQL), so every default lives in the
    service that builds rows, not in `save()`.
    """

    # No database-level foreign key on the hot ingestion tables: its per-row trigger would cost
    # about a third of COPY throughput and stands in the way of time partitioning. Django still
    # cascades deletes. The composite indexes below lead with project, so no index of its own.
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="interactions",
        db_constraint=False,
        db_index=False,
    )
    request_id = models.CharField(max_length=255)
    timestamp = models.DateTimeField()
    model = models.CharField(max_length=255, blank=True)
    model_version = models.CharField(max_length=255, blank=True)
    prompt_template = models.CharField(max_length=255, blank=True)
    prompt_template_version = models.CharField(max_length=255, blank=True)
    messages = models.JSONField(default=list)
    response = models.TextField(blank=True)
    retrieved_context = models.JSONField(default=list, blank=True)
    user_id = models.CharField(
        max_length=64, blank=True, help_text="Keyed hash of the app's user id."
    )
    session_id = models.CharField(max_length=255, blank=True)
    experiment = models.CharField(max_length=255, blank=True)
    variant = models.CharField(max_length=255, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    tokens_in = models.IntegerField(null=True, blank=True)
    tokens_out = models.IntegerField(null=True, blank=True)
    cost = models.FloatField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # What the project's privacy mode took out at ingestion: the kinds redacted and where the
    # placeholders are (never the values), or the fields dropped. Null: stored as received.
    redactions = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField()
    # Set once the automated checks have run; the beat sweep picks up rows still empty.
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "request_id"], name="interaction_request_id_unique_per_project"
            )
        ]
        indexes = [
            models.Index(fields=["project", "timestamp"], name="interaction_project_time"),
            models.Index(
                fields=["project", "model_version", "timestamp"], name="interaction_model_version"
            ),
            models.Index(
                fields=["project", "prompt_template", "timestamp"], name="interaction_template"
            ),
            models.Index(fields=["project", "user_id"], name="interaction_user"),
            models.Index(
                fields=["received_at"],
                name="interaction_unchecked",
                condition=models.Q(checked_at__isnull=True),
            ),
        ]
        # No default ordering: every query that needs an order says which (and an index serves).

    def __str__(self) -> str:
        return self.request_id
