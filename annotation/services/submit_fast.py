"""Submitting an annotation on PostgreSQL in two statements, in the common case.

1. One read (no lock) of the item with its queue, project, interaction, the caller's lease and
   standing (member of the project, assigned to the queue), the item's other answers and whether
   a lead adjudicated it.
2. One write that is applied only if the item is exactly as read: a data-modifying CTE updates
   the item (its `updated_at`, state and counts must be those read, and the caller's lease still
   active), then the lease, inserts the annotation and marks the interaction's hour for the
   rollups when the item is done.

Every service that changes an item's leases or annotations does so under the item's row lock and
moves its `updated_at`, so "the item is as read" also means the lease and the other answers are:
if anything changed in between, the write changes nothing and the caller falls back to the
locking path (`annotation_submit`'s), which then decides. Anything but the plain case (no lease,
a lapsed or finished one, a caller no longer assigned, an item with skips or already settled, or
any other database) is left to that path too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction

from annotation.models import Interaction, Membership, Project
from annotation.models.insights import RollupDirty
from annotation.models.review import (
    UNFINISHED_STATES,
    Adjudication,
    Annotation,
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Queue,
    QueueItem,
)
from annotation.schemas.label_schema import FieldSpec, disagreements
from annotation.services.rollups import hour_of

_ITEM_COLUMNS = [f.column for f in QueueItem._meta.concrete_fields]


def _read_sql() -> str:
    item_t, lease_t = QueueItem._meta.db_table, Lease._meta.db_table
    queue_t, project_t = Queue._meta.db_table, Project._meta.db_table
    inter_t, member_t = Interaction._meta.db_table, Membership._meta.db_table
    assign_t = Queue.annotators.through._meta.db_table
    notes_t, adjud_t = Annotation._meta.db_table, Adjudication._meta.db_table
    guide_t = Guideline._meta.db_table
    items = ", ".join(f'i."{c}"' for c in _ITEM_COLUMNS)
    # Table and column names come from the models, never from input: nothing to inject.
    return f"""
SELECT {items},
  q.name, q.schema, q.min_annotations_to_settle, q.project_id, p.name, p.taxonomy,
  x.retrieved_context, x.timestamp,
  l.id, l.state, l.guideline_id, l.leased_at, l.expires_at, g.version,
  EXISTS (SELECT 1 FROM {member_t} m WHERE m.project_id = q.project_id AND m.user_id = %(user)s),
  EXISTS (SELECT 1 FROM {assign_t} a WHERE a.queue_id = q.id AND a.user_id = %(user)s),
  (SELECT json_agg(n."values" ORDER BY n.id)::text FROM {notes_t} n WHERE n.item_id = i.id),
  EXISTS (SELECT 1 FROM {adjud_t} d WHERE d.item_id = i.id)
FROM {item_t} i
JOIN {queue_t} q ON q.id = i.queue_id
JOIN {project_t} p ON p.id = q.project_id
JOIN {inter_t} x ON x.id = i.interaction_id
LEFT JOIN {lease_t} l ON l.item_id = i.id AND l.annotator_id = %(user)s
LEFT JOIN {guide_t} g ON g.id = l.guideline_id
WHERE i.id = %(item)s
"""  # noqa: S608


def _write_sql() -> str:
    item_t, lease_t = QueueItem._meta.db_table, Lease._meta.db_table
    notes_t, dirty_t = Annotation._meta.db_table, RollupDirty._meta.db_table
    return f"""
WITH upd_item AS (
  UPDATE {item_t} SET annotations_done = annotations_done + 1,
    leases_active = leases_active - 1, state = %(state)s, finished_at = %(finished)s,
    updated_at = %(now)s
  WHERE id = %(item)s AND updated_at = %(seen)s AND state = %(was)s
    AND annotations_done = %(done)s AND leases_active = %(active)s AND skips = 0
    AND EXISTS (SELECT 1 FROM {lease_t} o WHERE o.id = %(lease)s AND o.state = 'active')
  RETURNING id
),
upd_lease AS (
  UPDATE {lease_t} SET state = '{LeaseState.SUBMITTED}', finished_at = %(now)s
  WHERE id = %(lease)s AND state = 'active' AND EXISTS (SELECT 1 FROM upd_item)
  RETURNING id
),
ins AS (
  INSERT INTO {notes_t}
    (item_id, annotator_id, "values", guideline_id, seconds, revision, created_at, updated_at)
  SELECT %(item)s, %(user)s, %(values)s::jsonb, %(guideline)s, %(seconds)s, 1, %(now)s, %(now)s
  WHERE EXISTS (SELECT 1 FROM upd_lease)
  RETURNING id
),
dirty AS (
  INSERT INTO {dirty_t} (project_id, hour, marked_at)
  SELECT %(project)s, %(hour)s, %(now)s WHERE %(mark)s AND EXISTS (SELECT 1 FROM ins)
  ON CONFLICT (project_id, hour) DO UPDATE SET marked_at = EXCLUDED.marked_at
  RETURNING 1
)
SELECT (SELECT id FROM ins), (SELECT count(*) FROM dirty)
"""  # noqa: S608


_SQL: dict[str, str] = {}


def _sql(name: str) -> str:
    if name not in _SQL:
        _SQL[name] = _read_sql() if name == "read" else _write_sql()
    return _SQL[name]


@dataclass
class SubmitRead:
    item: QueueItem
    lease: Lease | None
    member: bool
    assigned: bool
    answers: list[Any]
    adjudicated: bool


def submit_read(*, item_id: int, annotator: User) -> SubmitRead | None:
    """The item as the submit sees it, in one query without locks; None when there is none."""
    with connection.cursor() as cursor:
        cursor.execute(_sql("read"), {"item": item_id, "user": annotator.pk})
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(_ITEM_COLUMNS)
    fields = QueueItem._meta.concrete_fields
    values = [
        f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
        for f, v in zip(fields, row[:n], strict=True)
    ]
    item = QueueItem.from_db(connection.alias, [f.attname for f in fields], values)
    (
        queue_name,
        schema,
        min_settle,
        project_id,
        project_name,
        taxonomy,
        context,
        timestamp,
        lease_id,
        lease_state,
        guideline_id,
        leased_at,
        expires_at,
        guideline_version,
        member,
        assigned,
        answers,
        adjudicated,
    ) = row[n:]
    project = Project(pk=project_id, name=project_name, taxonomy=_json(taxonomy))
    item.queue = Queue(
        pk=item.queue_id,
        name=queue_name,
        project=project,
        schema=_json(schema),
        min_annotations_to_settle=min_settle,
    )
    item.interaction = Interaction(
        pk=item.interaction_id,
        project_id=project_id,
        retrieved_context=_json(context),
        timestamp=timestamp,
    )
    lease = None
    if lease_id is not None:
        lease = Lease(
            pk=lease_id,
            item=item,
            queue_id=item.queue_id,
            annotator=annotator,
            state=lease_state,
            guideline_id=guideline_id,
            leased_at=leased_at,
            expires_at=expires_at,
        )
        if guideline_id is not None:
            lease.guideline = Guideline(
                pk=guideline_id, project_id=project_id, version=guideline_version
            )
    return SubmitRead(
        item=item,
        lease=lease,
        member=bool(member),
        assigned=bool(assigned),
        answers=json.loads(answers) if answers else [],
        adjudicated=bool(adjudicated),
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def plain_case(read: SubmitRead, now: datetime) -> bool:
    """Whether the two-statement path may take this submit (else the locking path decides)."""
    lease, item = read.lease, read.item
    return (
        read.member
        and read.assigned
        and lease is not None
        and lease.state == LeaseState.ACTIVE
        and lease.expires_at > now
        and item.state in UNFINISHED_STATES
        and item.skips == 0
        and item.leases_active > 0
        and item.annotations_done < item.annotations_wanted
    )


def next_state(read: SubmitRead, fields: list[FieldSpec], values: Any) -> str:
    """The item's state once this answer is in (as `item_state_settle` decides it)."""
    item = read.item
    done = item.annotations_done + 1
    if done < item.annotations_wanted:
        free = item.annotations_wanted - done - (item.leases_active - 1)
        return ItemState.OPEN if free > 0 else ItemState.IN_PROGRESS
    answers = [*read.answers, values]
    if disagreements(fields, answers) and not read.adjudicated:
        return ItemState.NEEDS_ADJUDICATION
    return ItemState.DONE


def submit_write(
    *,
    read: SubmitRead,
    annotator: User,
    values: Any,
    seconds: float,
    state: str,
    now: datetime,
) -> Annotation | None:
    """Apply the submit if the item is still as read; None when it changed (nothing written)."""
    item, lease = read.item, read.lease
    assert lease is not None
    done = state == ItemState.DONE
    params: dict[str, Any] = {
        "item": item.pk,
        "seen": item.updated_at,
        "was": item.state,
        "done": item.annotations_done,
        "active": item.leases_active,
        "lease": lease.pk,
        "state": state,
        "finished": now if done else None,
        "now": now,
        "user": annotator.pk,
        "values": json.dumps(values),
        "guideline": lease.guideline_id,
        "seconds": seconds,
        "project": item.queue.project_id,
        "hour": hour_of(item.interaction.timestamp),
        "mark": done,
    }

    def run() -> tuple[Any, ...]:
        with connection.cursor() as cursor:
            cursor.execute(_sql("write"), params)
            return tuple(cursor.fetchone())

    if connection.in_atomic_block:
        with transaction.atomic():
            annotation_id, marked = run()
    else:
        annotation_id, marked = run()
    if annotation_id is None:
        return None
    if marked:
        _refresh_rollups_without_beat()
    item.annotations_done += 1
    item.leases_active -= 1
    item.state = state
    item.finished_at = now if done else None
    item.updated_at = now
    lease.state = LeaseState.SUBMITTED
    lease.finished_at = now
    annotation = Annotation(
        pk=annotation_id,
        item=item,
        annotator=annotator,
        values=values,
        guideline_id=lease.guideline_id,
        seconds=seconds,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    if lease.guideline_id is not None:
        annotation.guideline = lease.guideline
    annotation._state.adding = False
    return annotation


def _refresh_rollups_without_beat() -> None:
    """The embedded default runs no Celery beat: rebuild the marked hours once committed (as
    `rollups_mark` does)."""
    from feedbackloop.celery import app

    if app.conf.task_always_eager:
        from annotation.services.rollups import rollups_refresh_dirty

        transaction.on_commit(rollups_refresh_dirty)
