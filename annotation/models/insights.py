"""Hourly rollups that dashboards, comparisons and alerts read instead of scanning interactions.

One row per project, hour (of the interaction's `timestamp`, UTC) and slice: the combination of
model, model_version, prompt template and version, experiment and variant. Rows are rebuilt
whole for a (project, hour) whenever something in that hour changes (`RollupDirty`), so they are
exact, idempotent and safe to recompute for any range (`manage.py rebuild_rollups`).
"""

from __future__ import annotations

from django.db import models

from annotation.models.checks import Check
from annotation.models.project import Project
from annotation.models.review import Queue

SLICE_FIELDS = (
    "model",
    "model_version",
    "prompt_template",
    "prompt_template_version",
    "experiment",
    "variant",
)


class _Slice(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    hour = models.DateTimeField()
    model = models.CharField(max_length=255, blank=True)
    model_version = models.CharField(max_length=255, blank=True)
    prompt_template = models.CharField(max_length=255, blank=True)
    prompt_template_version = models.CharField(max_length=255, blank=True)
    experiment = models.CharField(max_length=255, blank=True)
    variant = models.CharField(max_length=255, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} of project {self.project_id} at {self.hour:%Y-%m-%d %H}:00"


class SliceRollup(_Slice):
    """Interactions and their feedback in one hour and slice."""

    interactions = models.PositiveIntegerField(default=0)
    checked = models.PositiveIntegerField(default=0, help_text="Interactions the checks ran on.")
    rated = models.PositiveIntegerField(
        default=0, help_text="Interactions with a rating or a reason from their users."
    )
    negative = models.PositiveIntegerField(
        default=0, help_text="Interactions rated low (≤ 0.4 normalised) or given a negative reason."
    )
    ratings = models.PositiveIntegerField(default=0)
    rating_sum = models.FloatField(default=0.0, help_text="Sum of normalised ratings.")
    rating_sq_sum = models.FloatField(default=0.0, help_text="Sum of their squares.")
    feedback = models.PositiveIntegerField(default=0)
    labels = models.PositiveIntegerField(default=0)
    corrections = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    implicit = models.PositiveIntegerField(default=0)
    implicit_negative = models.PositiveIntegerField(
        default=0, help_text="Interactions abandoned, rephrased or regenerated."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "hour", *SLICE_FIELDS], name="slice_rollup_unique"
            )
        ]
        indexes = [models.Index(fields=["project", "hour"], name="slice_rollup_time")]


class FlagRollup(_Slice):
    """Interactions flagged by one check at one severity, in one hour and slice."""

    check_config = models.ForeignKey(
        Check, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_column="check_id"
    )
    severity = models.PositiveSmallIntegerField()
    flagged = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "hour", *SLICE_FIELDS, "check_config", "severity"],
                name="flag_rollup_unique",
            )
        ]
        indexes = [models.Index(fields=["project", "hour"], name="flag_rollup_time")]


class ReviewRollup(_Slice):
    """Settled review items of one queue, in one hour and slice, with the sums that the
    inverse-probability (Hájek) estimate and its linearised variance need."""

    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    reviewed = models.PositiveIntegerField(default=0)
    bad = models.PositiveIntegerField(default=0)
    sum_w = models.FloatField(default=0.0, help_text="Σ 1/π")
    sum_wy = models.FloatField(default=0.0, help_text="Σ y/π")
    sum_a = models.FloatField(default=0.0, help_text="Σ (1-π)/π²")
    sum_ay = models.FloatField(default=0.0, help_text="Σ y(1-π)/π²")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "hour", *SLICE_FIELDS, "queue"], name="review_rollup_unique"
            )
        ]
        indexes = [models.Index(fields=["project", "hour"], name="review_rollup_time")]


class RollupDirty(models.Model):
    """An hour of a project whose rollups must be rebuilt; `marked_at` moves on every change, so
    a rebuild that started before a new change leaves the mark for the next pass."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    hour = models.DateTimeField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "hour"], name="rollup_dirty_unique")
        ]
        indexes = [models.Index(fields=["marked_at"], name="rollup_dirty_order")]

    def __str__(self) -> str:
        return f"project {self.project_id} at {self.hour:%Y-%m-%d %H}:00"


class InsightReportKind(models.TextChoices):
    SLICES = "slices", "Worst metadata slices"
    THEMES = "themes", "Comment themes"
    RETRIEVAL = "retrieval", "Retrieval"
    SIGNALS = "signals", "Retraining signal"


class InsightReport(models.Model):
    """A report too costly to compute per page view (it reads interactions, not rollups),
    computed by Celery for one project and window and stored whole; the newest one is shown."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=InsightReportKind.choices)
    since = models.DateTimeField()
    until = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    body = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "kind", "-requested_at"], name="insight_report_latest")
        ]

    def __str__(self) -> str:
        return f"{self.kind} report of project {self.project_id} ({self.since:%Y-%m-%d}…)"
