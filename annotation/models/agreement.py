from __future__ import annotations

from django.conf import settings
from django.db import models

from annotation.models.review import Queue


class JobStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AgreementReport(models.Model):
    """Inter-annotator agreement of a queue, computed by a Celery task and kept for comparison."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="agreement_reports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.FloatField(default=0.0)
    task_id = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["queue", "-created_at"], name="agreement_by_queue")]

    def __str__(self) -> str:
        return f"agreement report {self.pk} of queue {self.queue_id}"
