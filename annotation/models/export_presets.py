from __future__ import annotations

from django.conf import settings
from django.db import models

from annotation.models.project import Project


class ExportPreset(models.Model):
    """A named export request a project's leads and engineers reuse (kind, format, filters,
    curation options), stored as the request the API takes, without its project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="export_presets")
    name = models.CharField(max_length=100)
    request = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="export_preset_name_unique")
        ]

    def __str__(self) -> str:
        return f"export preset {self.name} of {self.project_id}"
