"""Privacy records: what each export contained (for erasure) and each retention run's counts."""

from __future__ import annotations

from django.db import models

from annotation.models.exports import Export
from annotation.models.project import Project


class ExportedInteraction(models.Model):
    """One interaction that gave rows to an export, so erasing its user can mark the export.

    Written when the export is built (annotation/services/export_contents.py). Only a 64-bit
    hash of the request_id is kept (it names the interaction within the export's project): 12
    bytes per item while the build runs, so a build's memory stays small.
    """

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="+")
    request_hash = models.BigIntegerField()
    rows = models.PositiveIntegerField(default=1)

    class Meta:
        # An interaction in several queues gives an export several items: no uniqueness.
        indexes = [models.Index(fields=["request_hash"], name="exported_interaction_request")]

    def __str__(self) -> str:
        return f"{self.request_hash} in export {self.export_id}"


class RetentionRun(models.Model):
    """One enforcement of a project's retention: the cut-off and what it deleted, by table."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="retention_runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    cutoff = models.DateTimeField()
    retention_days = models.PositiveIntegerField()
    keep_reviewed = models.BooleanField(default=False)
    counts = models.JSONField(default=dict, blank=True)
    # Interactions older than the cut-off kept because they were reviewed or exported.
    kept = models.PositiveBigIntegerField(default=0)
    # True when the run stopped at its batch limit with more to delete (the next run goes on).
    more = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["project", "-started_at"], name="retention_by_project")]

    def __str__(self) -> str:
        return f"retention of {self.project_id} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def deleted_summary(self) -> str:
        parts = [f"{table}: {n}" for table, n in self.counts.items() if n]
        return ", ".join(parts) or "nothing"
