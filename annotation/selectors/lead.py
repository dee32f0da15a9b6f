"""Reading what the lead pages show: the hub's queues, a queue's progress, guideline versions,
and what a queue definition being edited would sample."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from annotation.models import Check, Membership, Project
from annotation.models.review import (
    Guideline,
    ItemState,
    Queue,
    QueueFill,
)
from annotation.sampling.sql import Preview
from annotation.schemas.queue_definition import queue_definition_errors
from annotation.selectors.access import LEADS, projects_for
from annotation.selectors.queue_counters import queue_counts_for
from annotation.selectors.queues import queue_stats
from annotation.selectors.sampling import queue_sample_preview

# What a draft queue needs to be sampled; the other parts of a definition do not change a fill.
_SAMPLING_KEYS = ("sources", "filters", "priority")


def lead_projects(user: User | AnonymousUser) -> QuerySet[Project]:
    return projects_for(user, LEADS).order_by("name")


# -- the hub ---------------------------------------------------------------------------------------


def state_rows(by_state: dict[str, int]) -> list[tuple[str, str, int]]:
    """(state, label, items) in the order of the item's life."""
    return [(s.value, s.value.replace("_", " "), by_state.get(s.value, 0)) for s in ItemState]


@dataclass(frozen=True)
class HubQueue:
    queue: Queue
    by_state: dict[str, int]
    annotators: list[str]
    last_fill: QueueFill | None

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def done(self) -> int:
        return self.by_state.get(ItemState.DONE, 0)

    @property
    def states(self) -> list[tuple[str, str, int]]:
        return state_rows(self.by_state)


@dataclass(frozen=True)
class HubProject:
    project: Project
    queues: list[HubQueue] = field(default_factory=list)


def lead_hub(user: User | AnonymousUser) -> list[HubProject]:
    """The projects the user leads, each with its queues, their items by state and last fill.

    Five queries whatever the number of queues: projects, queues (with their last fill's id),
    their annotators, their counters (items by state) and the last fills.
    """
    projects = list(lead_projects(user))
    last_fill = (
        QueueFill.objects.filter(queue=OuterRef("pk")).order_by("-created_at", "-id").values("id")
    )
    queues = list(
        Queue.objects.filter(project__in=[p.pk for p in projects])
        .annotate(last_fill_id=Subquery(last_fill[:1]))
        .prefetch_related("annotators")
        .order_by("name")
    )
    # From the queues' counters, not their items: one grouped query over a few rows per queue.
    counts = {pk: c.by_state for pk, c in queue_counts_for(q.pk for q in queues).items()}
    fill_ids = [q.last_fill_id for q in queues if q.last_fill_id]
    fills = QueueFill.objects.in_bulk(fill_ids)
    by_project: dict[int, HubProject] = {p.pk: HubProject(project=p) for p in projects}
    for queue in queues:
        by_project[queue.project_id].queues.append(
            HubQueue(
                queue=queue,
                by_state={
                    state.value: counts.get(queue.pk, {}).get(state, 0) for state in ItemState
                },
                annotators=sorted(u.username for u in queue.annotators.all()),
                last_fill=fills.get(queue.last_fill_id),
            )
        )
    return list(by_project.values())


# -- queue definitions -----------------------------------------------------------------------------


def project_members(project: Project) -> QuerySet[Membership]:
    """The project's members (the people a queue may be assigned to), by username."""
    return (
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )


def queue_name_taken(project: Project, name: str, *, exclude: int | None = None) -> bool:
    queues = Queue.objects.filter(project=project, name=name)
    if exclude is not None:
        queues = queues.exclude(pk=exclude)
    return queues.exists()


def last_fill(queue: Queue) -> QueueFill | None:
    return QueueFill.objects.filter(queue=queue).order_by("-created_at", "-id").first()


def queue_fill(queue: Queue, fill_id: int) -> QueueFill | None:
    return QueueFill.objects.filter(queue=queue, pk=fill_id).first()


@dataclass(frozen=True)
class DraftPreview:
    """What a fill of a queue definition not yet saved would add, or why it cannot be sampled."""

    errors: list[str]
    preview: Preview | None
    sources: list[dict[str, Any]]

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(reason, source type, candidates, would add) per source."""
        if self.preview is None:
            return []
        rows = []
        for source in self.sources:
            name = str(source.get("name", source.get("type")))
            rows.append(
                (
                    name,
                    str(source.get("type")),
                    self.preview.candidates_by_reason.get(name, 0),
                    self.preview.would_add_by_reason.get(name, 0),
                )
            )
        return rows


def queue_draft_preview(draft: Queue, *, now: datetime | None = None) -> DraftPreview:
    """Count what `draft` (an unsaved definition) would add now, by source, without saving it.

    The draft's sampling rules are validated first; other parts of the definition (schema,
    annotators) do not change what is sampled and are not looked at.
    """
    errors = queue_definition_errors(draft)
    messages = [m for key in _SAMPLING_KEYS for m in errors.get(key, [])]
    if messages:
        return DraftPreview(errors=messages, preview=None, sources=list(draft.sources))
    if draft.pk is None:
        # A new queue holds no items yet. Id 0 is never assigned, so "not yet in the queue" and
        # "unfinished items" both match nothing, which is exactly a new queue's state.
        draft = copy.copy(draft)
        draft.pk = 0
    preview = queue_sample_preview(queue=draft, now=now)
    return DraftPreview(errors=[], preview=preview, sources=list(draft.sources))


# -- progress --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnotatorProgress:
    username: str
    assigned: bool
    done: int
    skipped: int
    median_seconds: float | None
    last_hour: int

    @property
    def pace_per_hour(self) -> float | None:
        """Items an hour at this annotator's median time per item."""
        if not self.median_seconds:
            return None
        return round(3600 / self.median_seconds, 1)


@dataclass(frozen=True)
class QueueProgress:
    stats: dict[str, Any]
    annotators: list[AnnotatorProgress]
    last_fill: QueueFill | None
    measured_at: datetime

    @property
    def done(self) -> int:
        return int(self.stats["by_state"].get(ItemState.DONE, 0))

    @property
    def states(self) -> list[tuple[str, str, int]]:
        return state_rows(self.stats["by_state"])

    @property
    def reasons(self) -> list[tuple[str, int]]:
        return sorted(self.stats["by_reason"].items(), key=lambda pair: (-pair[1], pair[0]))


def queue_progress(queue: Queue, *, now: datetime | None = None) -> QueueProgress:
    """The queue's stats (`queue_stats`) and a row per annotator, assigned or not, who worked it."""
    now = now or timezone.now()
    stats = queue_stats(queue, now=now)
    last_hour = {row["username"]: row["last_hour"] for row in stats["annotators"]}
    assigned = set(queue.annotators.values_list("username", flat=True))
    worked = {row["username"]: row for row in stats["annotators"]}
    people: Sequence[str] = sorted(assigned | set(worked))
    rows = [
        AnnotatorProgress(
            username=name,
            assigned=name in assigned,
            done=worked.get(name, {}).get("done", 0),
            skipped=worked.get(name, {}).get("skipped", 0),
            median_seconds=worked.get(name, {}).get("median_seconds"),
            last_hour=last_hour.get(name, 0),
        )
        for name in people
    ]
    return QueueProgress(stats=stats, annotators=rows, last_fill=last_fill(queue), measured_at=now)


# -- guidelines ------------------------------------------------------------------------------------


def project_guidelines(project: Project) -> QuerySet[Guideline]:
    """The project's guideline versions, newest first, with their authors."""
    return (
        Guideline.objects.filter(project=project).select_related("created_by").order_by("-version")
    )


def latest_guideline(project: Project) -> Guideline | None:
    return Guideline.objects.filter(project=project).order_by("-version").first()


def guideline_version(project: Project, version: int) -> Guideline | None:
    return (
        Guideline.objects.filter(project=project, version=version)
        .select_related("created_by")
        .first()
    )


def guideline_previous(guideline: Guideline) -> Guideline | None:
    return (
        Guideline.objects.filter(project_id=guideline.project_id, version__lt=guideline.version)
        .order_by("-version")
        .first()
    )


def guideline_next(guideline: Guideline) -> Guideline | None:
    return (
        Guideline.objects.filter(project_id=guideline.project_id, version__gt=guideline.version)
        .order_by("version")
        .first()
    )


def queues_pinned_to(guideline: Guideline) -> QuerySet[Queue]:
    return Queue.objects.filter(guideline=guideline).order_by("name")


def project_checks(project: Project) -> list[tuple[str, str]]:
    """(name, type) of the checks configured in the project, by name."""
    return list(Check.objects.filter(project=project).order_by("name").values_list("name", "type"))
