"""Alert rules over the hourly rollups, and the alerts they fire.

A rule watches one metric of one slice of a project (the rollups' dimensions as filters) over a
recent window, against a threshold or against the window's baseline before it. The evaluation
(`annotation.services.alerts.alerts_evaluate`, every minute on the `alerts` queue) opens an
alert when the condition starts to hold and resolves it when it stops; a rule has at most one
firing alert at a time, and waits `cooldown_minutes` after a resolution before firing again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models.actions import Trigger, Webhook
from annotation.models.checks import Check
from annotation.models.project import Project


class AlertMetric(models.TextChoices):
    NEGATIVE_FEEDBACK_RATE = "negative_feedback_rate", "Negative-feedback rate"
    MEAN_RATING = "mean_rating", "Mean normalised rating"
    FLAG_RATE = "flag_rate", "Flag rate"
    IMPLICIT_NEGATIVE_RATE = "implicit_negative_rate", "Implicit-negative rate"
    REVIEWED_BAD_RATE = "reviewed_bad_rate", "Reviewed bad rate (weighted)"
    VOLUME = "volume", "Volume (interactions per hour)"


class ConditionType(models.TextChoices):
    THRESHOLD = "threshold", "Above (or below) a threshold"
    RELATIVE_INCREASE = "relative_increase", "Relative change against the baseline"
    ZSCORE = "zscore", "z-score against the baseline's buckets"


class Direction(models.TextChoices):
    ABOVE = "above", "Above"
    BELOW = "below", "Below"


class AlertRule(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=100)
    metric = models.CharField(max_length=32, choices=AlertMetric.choices)
    # Slice dimension -> accepted values (annotation.insights.query.DIMENSIONS), as the
    # dashboards filter: {"model_version": ["2026-10-01"]}.
    filters = models.JSONField(default=dict, blank=True)
    check_config = models.ForeignKey(
        Check,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        db_column="check_id",
        help_text="The check whose flag rate a flag_rate rule watches.",
    )
    min_severity = models.PositiveSmallIntegerField(default=0)
    window_minutes = models.PositiveIntegerField(default=60)
    baseline_minutes = models.PositiveIntegerField(default=1440)
    condition_type = models.CharField(
        max_length=24, choices=ConditionType.choices, default=ConditionType.THRESHOLD
    )
    condition_value = models.FloatField()
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.ABOVE)
    min_count = models.PositiveIntegerField(default=20)
    cooldown_minutes = models.PositiveIntegerField(default=60)
    webhooks = models.ManyToManyField(Webhook, related_name="alert_rules", blank=True)
    triggers = models.ManyToManyField(Trigger, related_name="alert_rules", blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="alert_rule_unique_name"),
        ]
        indexes = [models.Index(fields=["active", "project"], name="alert_rule_active")]

    def __str__(self) -> str:
        return f"{self.name} ({self.metric})"


class AlertState(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """One firing of a rule: the figures when it fired, and when it stopped holding."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.FIRING)
    fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    count = models.PositiveIntegerField(default=0, help_text="The window's sample size.")
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # The evaluation's figures at firing (condition, z, baseline buckets...) and at resolution.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            # At most one firing alert per rule, whoever evaluates (beat, the command).
            models.UniqueConstraint(
                fields=["rule"], condition=Q(state="firing"), name="alert_one_firing_per_rule"
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "-fired_at"], name="alert_by_rule"),
            models.Index(fields=["state", "rule"], name="alert_by_state"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} of rule {self.rule_id}: {self.state}"
