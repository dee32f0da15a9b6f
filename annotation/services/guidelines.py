"""Guidelines: versioned markdown per project. A version, once published, is never edited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from annotation.models import Project
from annotation.models.review import Guideline

MAX_GUIDELINE_CHARS = 200_000


@transaction.atomic
def guideline_publish(*, project: Project, text: str, created_by: User | None = None) -> Guideline:
    """Publish the next version of the project's guideline; older versions stay as they were."""
    if not text.strip():
        raise ValueError("the guideline is empty; write its text in markdown")
    if len(text) > MAX_GUIDELINE_CHARS:
        raise ValueError(
            f"the guideline has {len(text)} characters; keep it under {MAX_GUIDELINE_CHARS}"
        )
    # Serialise publishers of one project so version numbers never collide.
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))
    latest = Guideline.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
    return Guideline.objects.create(
        project=project, version=latest + 1, text=text, created_by=created_by
    )
