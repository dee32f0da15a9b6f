"""Guidelines: versioned markdown per project. A version, once published, is never edited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from annotation.models import Project
from annotation.models.audit import AuditAction
from annotation.models.review import Guideline
from annotation.services.audit import audit_record

# A guideline is read beside every item: 100,000 characters is a long handbook (about 15,000
# words). Its rendered HTML is cached per version (`annotation.rendering.guideline_html`), so
# the limit bounds the one render each version costs and the size of every workspace page.
MAX_GUIDELINE_CHARS = 100_000


def guideline_text_problem(text: str) -> str | None:
    """What is wrong with a guideline's text, or None: the one rule the API, the lead's page and
    the admin all apply."""
    if not text.strip():
        return "the guideline is empty; write its text in markdown"
    if len(text) > MAX_GUIDELINE_CHARS:
        return (
            f"the guideline has {len(text):,} characters; keep it to at most "
            f"{MAX_GUIDELINE_CHARS:,} (link long examples instead of pasting them)"
        )
    return None


@transaction.atomic
def guideline_publish(*, project: Project, text: str, created_by: User | None = None) -> Guideline:
    """Publish the next version of the project's guideline; older versions stay as they were."""
    problem = guideline_text_problem(text)
    if problem:
        raise ValueError(problem)
    # Serialise publishers of one project so version numbers never collide.
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))
    latest = Guideline.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
    guideline = Guideline.objects.create(
        project=project, version=latest + 1, text=text, created_by=created_by
    )
    audit_record(
        actor=created_by,
        action=AuditAction.GUIDELINE_PUBLISHED,
        project=project,
        target=f"guideline:{guideline.pk}",
        details={"version": guideline.version, "characters": len(text)},
    )
    return guideline
