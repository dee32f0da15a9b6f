"""Queue definitions and fills: create, edit, assign annotators, fill on demand and on schedule."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from annotation import jobs
from annotation.models import Membership, Project
from annotation.models.audit import AuditAction
from annotation.models.review import (
    FillStatus,
    FillTrigger,
    Guideline,
    ItemState,
    Queue,
    QueueFill,
    QueueItem,
    QueueState,
)
from annotation.schemas.queue_definition import queue_definition_errors
from annotation.selectors.queue_brief import queue_brief_forget
from annotation.services.audit import audit_record
from annotation.services.leasing import leases_release_unassigned
from annotation.services.sampling import queue_sample_insert

logger = logging.getLogger(__name__)

# Fields a lead may set on create and change with PATCH.
EDITABLE_FIELDS = (
    "name",
    "description",
    "guideline",
    "schema",
    "sources",
    "filters",
    "priority",
    "overlap",
    "min_annotations_to_settle",
    "capacity",
    "lease_minutes",
    "state",
    "seed",
    "fill_every_minutes",
)


def _check_annotators(project: Project, annotators: Sequence[User]) -> None:
    members = set(
        Membership.objects.filter(project=project, user__in=annotators).values_list(
            "user_id", flat=True
        )
    )
    outsiders = [user.username for user in annotators if user.pk not in members]
    if outsiders:
        raise ValidationError(
            {
                "annotators": [
                    f"{', '.join(outsiders)} not members of project {project.name}; add them "
                    "with `manage.py adduser … --role annotator` first"
                ]
            }
        )


def queue_links_check(
    *, project: Project, guideline: Guideline | None = None, annotators: Sequence[User] = ()
) -> None:
    """Refuse a guideline or annotators from outside the queue's project (ValidationError)."""
    if guideline is not None and guideline.project_id != project.pk:
        raise ValidationError(
            {
                "guideline": [
                    f"guideline {guideline.pk} is not a guideline of project {project.name}; "
                    "pin one of its own versions or leave it empty to follow the latest"
                ]
            }
        )
    _check_annotators(project, annotators)


def _schedule(queue: Queue, now: datetime) -> None:
    queue.next_fill_at = (
        now + timedelta(minutes=queue.fill_every_minutes)
        if queue.fill_every_minutes and queue.state == QueueState.ACTIVE
        else None
    )


@transaction.atomic
def queue_validate(queue: Queue) -> None:
    """The model's own checks and the queue definition's (sources, filters, schema, priority)."""
    errors: dict[str, list[str]] = {}
    try:
        queue.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    for field, messages in queue_definition_errors(queue).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def queue_create(
    *,
    project: Project,
    name: str,
    sources: list[dict[str, Any]],
    schema: dict[str, Any],
    created_by: User | None = None,
    annotators: Sequence[User] = (),
    **fields: Any,
) -> Queue:
    """Create a queue after validating its sources, filters, schema and annotators."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown queue fields: {', '.join(sorted(unknown))}")
    queue = Queue(
        project=project, name=name, sources=sources, schema=schema, created_by=created_by, **fields
    )
    now = timezone.now()
    # A scheduled queue fills within a minute of creation.
    queue.next_fill_at = (
        now if queue.fill_every_minutes and queue.state == QueueState.ACTIVE else None
    )
    queue_validate(queue)
    queue_links_check(project=project, guideline=queue.guideline, annotators=annotators)
    queue.save()
    queue.annotators.set(annotators)
    audit_record(
        actor=created_by,
        action=AuditAction.QUEUE_CREATED,
        project=project,
        target=f"queue:{queue.pk}",
        details={"name": name, "annotators": [a.get_username() for a in annotators]},
    )
    return queue


@transaction.atomic
def queue_update(
    *,
    queue: Queue,
    annotators: Sequence[User] | None = None,
    actor: User | None = None,
    **changes: Any,
) -> Queue:
    """Change a queue's definition. Items already queued keep their reasons and overlap.

    Audited (`queue.changed`, naming the fields changed) by `actor`, else the request's user.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown queue fields: {', '.join(sorted(unknown))}")
    queue = Queue.objects.select_for_update().get(pk=queue.pk)
    for key, value in changes.items():
        setattr(queue, key, value)
    if {"fill_every_minutes", "state"} & set(changes):
        _schedule(queue, timezone.now())
    if "guideline" in changes:
        queue_links_check(project=queue.project, guideline=queue.guideline)
    queue_validate(queue)
    queue.save()
    queue_brief_forget(queue.pk)
    if annotators is not None:
        queue_assign(queue=queue, annotators=annotators)
    audit_record(
        actor=actor,
        action=AuditAction.QUEUE_CHANGED,
        project=queue.project_id,
        target=f"queue:{queue.pk}",
        details={
            "fields": sorted(changes) + (["annotators"] if annotators is not None else []),
            **({"state": str(changes["state"])} if "state" in changes else {}),
        },
    )
    return queue


@transaction.atomic
def queue_assign(*, queue: Queue, annotators: Iterable[User]) -> None:
    """Set the queue's annotators; items nobody could finish before are offered again."""
    annotators = list(annotators)
    _check_annotators(queue.project, annotators)
    queue.annotators.set(annotators)
    queue_brief_forget(queue.pk)
    # Whoever was taken off the queue hands back the item they hold, so its slot frees now.
    leases_release_unassigned(queue=queue)
    QueueItem.objects.filter(queue=queue, state=ItemState.SKIPPED).update(
        state=Case(
            When(
                annotations_done__lt=F("annotations_wanted") - F("leases_active"),
                then=Value(ItemState.OPEN),
            ),
            default=Value(ItemState.IN_PROGRESS),
        ),
        updated_at=timezone.now(),
    )


def queue_fill_request(
    *, queue: Queue, requested_by: User | None = None, trigger: str = FillTrigger.MANUAL
) -> QueueFill:
    """Record a fill and start it as a Celery task once the transaction commits."""
    if queue.state == QueueState.ARCHIVED:
        raise ValidationError("the queue is archived; set its state to active or paused to fill it")
    task_id = str(uuid.uuid4())
    fill = QueueFill.objects.create(
        queue=queue, trigger=trigger, requested_by=requested_by, task_id=task_id
    )
    transaction.on_commit(
        lambda: jobs.enqueue("annotation.tasks.queues.fill_queue", fill.pk, task_id=task_id)
    )
    return fill


def queue_fill_run(*, fill_id: int) -> QueueFill:
    """Run a recorded fill: insert the sampled items and store the counts on the fill.

    Idempotent: a fill already done is returned as it is, so a redelivered task does nothing.
    """
    try:
        with transaction.atomic():
            fill = QueueFill.objects.select_for_update().get(pk=fill_id)
            if fill.status in (FillStatus.DONE, FillStatus.FAILED):
                return fill
            # The queue's row lock serialises fills of one queue.
            queue = (
                Queue.objects.select_for_update().select_related("project").get(pk=fill.queue_id)
            )
            now = timezone.now()
            fill.started_at = now
            outcome = queue_sample_insert(queue=queue, fill_id=fill.pk, now=now)
            fill.status = FillStatus.DONE
            fill.added = outcome.added
            fill.by_reason = outcome.by_reason
            fill.room = outcome.room
            fill.strata = outcome.strata
            fill.finished_at = timezone.now()
            fill.save()
            return fill
    except Exception as exc:
        logger.exception("fill %s failed", fill_id)
        QueueFill.objects.filter(pk=fill_id).update(
            status=FillStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise


def queue_fill_now(
    *, queue: Queue, requested_by: User | None = None, trigger: str = FillTrigger.MANUAL
) -> QueueFill:
    """Fill the queue in this process (scripts, tests, the benchmark); returns the finished fill."""
    fill = QueueFill.objects.create(queue=queue, trigger=trigger, requested_by=requested_by)
    return queue_fill_run(fill_id=fill.pk)


def queues_fill_due(*, now: datetime | None = None) -> list[int]:
    """Start a fill of every active queue whose schedule is due; returns the fills' ids."""
    now = now or timezone.now()
    fills = []
    with transaction.atomic():
        due = (
            Queue.objects.select_for_update(skip_locked=True)
            .filter(
                state=QueueState.ACTIVE, fill_every_minutes__isnull=False, next_fill_at__lte=now
            )
            .order_by("next_fill_at")
        )
        for queue in due:
            # Scheduled from now, not from the missed slot, so a stalled beat does not burst.
            _schedule(queue, now)
            queue.save(update_fields=["next_fill_at"])
            fills.append(queue_fill_request(queue=queue, trigger=FillTrigger.SCHEDULE).pk)
    return fills
