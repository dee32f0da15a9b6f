from __future__ import annotations

from django.conf import settings
from django.db import models

from annotation.models.agreement import JobStatus
from annotation.models.audit import AuditEvent  # noqa: F401  (it used to live here)
from annotation.models.project import Project


class ExportKind(models.TextChoices):
    SFT = "sft", "Supervised fine-tuning (chat messages)"
    PREFERENCE = "preference", "Preference pairs (TRL prompt/chosen/rejected)"
    OPENAI_DPO = (
        "openai_dpo",
        "Preference pairs (OpenAI input/preferred_output/non_preferred_output)",
    )
    EVAL = "eval", "Evaluation set"
    RETRIEVAL = "retrieval", "Retrieval relevance"
    ANNOTATIONS = "annotations", "Every annotation"


class ExportFormat(models.TextChoices):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


class Export(models.Model):
    """A dataset built from reviewed items by a Celery task; its files are listed in `manifest`."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=16, choices=ExportKind.choices)
    format = models.CharField(
        max_length=8, choices=ExportFormat.choices, default=ExportFormat.JSONL
    )
    filters = models.JSONField(default=dict, blank=True)
    options = models.JSONField(
        default=dict, blank=True, help_text="redact_pii, split, system_prompt…"
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.FloatField(default=0.0)
    rows = models.PositiveBigIntegerField(default=0)
    manifest = models.JSONField(default=dict, blank=True)
    storage_prefix = models.CharField(max_length=255, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"], name="export_by_project")]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk} of {self.project_id}"
