"""Export presets: a project's saved export requests, created from the exports form,
applied to it, and deleted. A preset holds the request the API takes, without its project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from annotation.errors import Conflict, Invalid
from annotation.models import ExportPreset, Project
from annotation.schemas.export_request import (
    ExportRequestInvalid,
    parse_export_request,
    unstorable_text,
)
from annotation.selectors.exports import project_queue_ids

MAX_PRESET_NAME = 100
MAX_PRESETS_PER_PROJECT = 200


def _name_problem(name: str) -> str | None:
    if not name:
        return "give the preset a name, e.g. 'weekly SFT'"
    if len(name) > MAX_PRESET_NAME:
        return f"{len(name)} characters; use at most {MAX_PRESET_NAME}"
    return unstorable_text(name)


def export_preset_save(
    *, project: Project, name: str, request: Mapping[str, Any], created_by: User | None
) -> ExportPreset:
    """Save (or replace, by name) a preset of `project` after validating its request (one row)."""
    name = name.strip()
    problem = _name_problem(name)
    if problem is not None:
        raise Invalid(f"name: {problem}.", details={"name": [problem]})
    body = {key: value for key, value in request.items() if key != "project"}
    try:
        parse_export_request(
            {**body, "project": project.name}, queue_ids=project_queue_ids(project.pk)
        )
    except ExportRequestInvalid as invalid:
        raise Invalid(
            f"The preset's request is not a valid export request: {invalid.message}",
            code=invalid.code,
            details={"request": invalid.errors},
        ) from None
    with transaction.atomic():
        existing = ExportPreset.objects.select_for_update().filter(project=project, name=name)
        preset = existing.first()
        if preset is not None:
            preset.request = body
            preset.save(update_fields=["request", "updated_at"])
            return preset
        if ExportPreset.objects.filter(project=project).count() >= MAX_PRESETS_PER_PROJECT:
            raise Conflict(
                f"{project.name} has {MAX_PRESETS_PER_PROJECT} presets already; delete one first.",
                code="too_many_presets",
            )
        try:
            with transaction.atomic():
                return ExportPreset.objects.create(
                    project=project, name=name, request=body, created_by=created_by
                )
        except IntegrityError:
            raise Conflict(
                f"{project.name} already has a preset named '{name}'; save again to replace it.",
                code="preset_exists",
                details={"name": ["taken; save again to replace it"]},
            ) from None


def export_preset_delete(*, preset: ExportPreset) -> None:
    """Delete a preset (exports made from it are unaffected)."""
    preset.delete()
