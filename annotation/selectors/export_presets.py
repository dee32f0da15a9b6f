"""Reading export presets: those of the caller's projects, and one of them by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from annotation.errors import NotFound
from annotation.models import ExportPreset, Project
from annotation.selectors.access import MEMBERS, projects_for


def presets_for(projects: Sequence[Project]) -> QuerySet[ExportPreset]:
    """The presets of these projects (the caller's readable ones), by project and name."""
    return (
        ExportPreset.objects.filter(project__in=[p.pk for p in projects])
        .select_related("project", "created_by")
        .order_by("project__name", "name")
    )


def preset_in(projects: Sequence[Project], preset_id: object) -> ExportPreset:
    """The preset with this id among these projects'; NotFound otherwise (another project's
    preset does not exist for the caller)."""
    try:
        pk = int(str(preset_id))
    except ValueError:
        raise NotFound(
            f"No preset {preset_id!r}; presets have whole-number ids.",
            details={"preset": ["not a preset id"]},
        ) from None
    preset = presets_for(projects).filter(pk=pk).first()
    if preset is None:
        raise NotFound(f"No preset {pk} in your projects.")
    return preset


def preset_for(user: Any, preset_id: int) -> ExportPreset:
    """The preset, when the caller is a member of its project (NotFound otherwise: another
    project's preset does not exist for them); the caller's role is checked by the caller."""
    preset = (
        ExportPreset.objects.filter(pk=preset_id, project__in=projects_for(user, MEMBERS))
        .select_related("project", "created_by")
        .first()
    )
    if preset is None:
        raise NotFound(f"No preset {preset_id} in your projects.")
    return preset
