"""What the project does when its data says so: webhook targets, their deliveries, and
pipeline triggers that build an export and announce it.

A webhook's signing secret must be read back to sign each delivery, so unlike project keys
(hashed, ``services.secrets``) it is stored sealed with a server key (``outbound.sealing``);
only its first characters are kept in clear, to recognise it on the page.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from annotation.models.exports import Export
from annotation.models.project import Project


class WebhookFormat(models.TextChoices):
    JSON = "json", "Signed JSON"
    SLACK = "slack", "Slack-compatible incoming webhook"
    EMAIL = "email", "Email"


class Webhook(models.Model):
    """A target the project's alerts and triggers notify."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    # Empty for the email format, which sends to `email_recipients` instead.
    url = models.CharField(max_length=2048, blank=True)
    format = models.CharField(
        max_length=8, choices=WebhookFormat.choices, default=WebhookFormat.JSON
    )
    secret_sealed = models.TextField(help_text="The signing secret, sealed with a server key.")
    secret_prefix = models.CharField(max_length=16, blank=True)
    email_recipients = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    # Set when a delivery exhausts its retries; cleared by the next successful delivery.
    failing = models.BooleanField(default=False)
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="webhook_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.format})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its first attempt
    RETRYING = "retrying"  # an attempt failed; the next one is at next_attempt_at
    DELIVERED = "delivered"
    FAILED = "failed"  # retries exhausted, or refused (a target the policy forbids)


class WebhookDelivery(models.Model):
    """One event sent to one webhook; its delivery id stays the same across retries and
    redeliveries, so a receiver can drop repeats."""

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="delivery_by_webhook"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id}: {self.status}"


class Trigger(models.Model):
    """Builds an export when enough new reviewed examples match it (or an alert fires) and
    sends its download link to webhooks."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=100)
    # The same shape as POST /api/v1/exports (without "project"), validated when saved.
    export_request = models.JSONField(default=dict)
    min_new_examples = models.PositiveIntegerField(default=500)
    webhooks = models.ManyToManyField(Webhook, related_name="triggers", blank=True)
    # The `finished_at` of the newest reviewed item the last run counted: items finished
    # after it are new. Advanced only together with a run (a conditional UPDATE).
    watermark = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="trigger_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TriggerReason(models.TextChoices):
    THRESHOLD = "threshold"
    ALERT = "alert"
    MANUAL = "manual"


class TriggerRunStatus(models.TextChoices):
    BUILDING = "building"  # the export is being built
    DELIVERED = "delivered"  # built; trigger.fired deliveries enqueued
    FAILED = "failed"


class TriggerRun(models.Model):
    """One firing of a trigger: the examples it covered (watermark from/to) and its export."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="runs")
    reason = models.CharField(max_length=16, choices=TriggerReason.choices)
    # The alert that fired it (reason "alert"); a plain id, kept when the alert is deleted.
    alert_id = models.PositiveBigIntegerField(null=True, blank=True)
    export = models.ForeignKey(
        Export, on_delete=models.SET_NULL, null=True, blank=True, related_name="trigger_runs"
    )
    example_count = models.PositiveIntegerField(default=0)
    watermark_from = models.DateTimeField(null=True, blank=True)
    watermark_to = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=TriggerRunStatus.choices, default=TriggerRunStatus.BUILDING
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["trigger", "-created_at"], name="trigger_run_latest")]

    def __str__(self) -> str:
        return f"run {self.pk} of trigger {self.trigger_id} ({self.reason})"
