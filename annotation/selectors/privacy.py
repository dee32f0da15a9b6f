"""Reading privacy settings and retention runs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from annotation.models import Project
from annotation.models.privacy import RetentionRun


def retention_runs(project: Project, limit: int = 10) -> QuerySet[RetentionRun]:
    """The project's latest retention runs, newest first."""
    return RetentionRun.objects.filter(project=project).order_by("-started_at")[:limit]


def run_as_dict(run: RetentionRun) -> dict[str, Any]:
    return {
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "cutoff": run.cutoff,
        "retention_days": run.retention_days,
        "keep_reviewed": run.keep_reviewed,
        "deleted": run.counts,
        "kept": run.kept,
        "more": run.more,
    }


def privacy_info(project: Project) -> dict[str, Any]:
    """A project's privacy settings and its latest retention runs (the API's answer)."""
    return {
        "project": project.name,
        "privacy_mode": project.privacy_mode,
        "retention_days": project.retention_days,
        "keep_reviewed": project.keep_reviewed,
        "retention_runs": [run_as_dict(run) for run in retention_runs(project)],
    }
