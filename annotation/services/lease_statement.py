"""`next` on PostgreSQL in one statement: standing, held lease, pick, lease upsert, item update.

One round trip answers a `next` call (after authentication, with the queue's brief cached):

- `q`: the queue's state, and whether the caller is a member of its project and assigned to it;
- `held`: the caller's active lease in the queue, if any (returned again, or, if it lapsed,
  reported so the caller's service expires it first);
- `pick`: otherwise the best open item they have not annotated, skipped or hold, locked with
  `FOR UPDATE SKIP LOCKED` so concurrent annotators each take a different row;
- `leased`: the lease upsert (an expired row of theirs for the item is renewed);
- `bumped`: the item's slot count and state, under the lock `pick` took;
- and whether any lease of the queue has lapsed without a sweep (`due`).

The statement runs in autocommit when no transaction is open, so it is also its own
transaction; inside one (tests, scripts) it runs under a savepoint, so a unique violation (a
concurrent call of the same annotator leased first) leaves the outer transaction usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Model

from annotation.models import Interaction, Membership
from annotation.models.review import (
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Queue,
    QueueItem,
)


@dataclass(frozen=True)
class LeaseOutcome:
    """What the statement found. `kind` is None (nothing leased), "held" or "new"."""

    exists: bool
    member: bool
    assigned: bool
    queue_state: str | None
    queue_updated_at: datetime | None
    due: bool
    kind: str | None
    lease: Lease | None
    item: QueueItem | None
    guideline: Guideline | None

    @property
    def lapsed(self) -> bool:
        """The caller holds an active lease whose time is up (to expire before leasing again)."""
        return self.kind == "held" and self.lease is not None and self.item is None


def _columns(model: type[Model]) -> list[str]:
    return [str(f.column) for f in model._meta.concrete_fields]


def _sql() -> str:
    item_cols = _columns(QueueItem)
    inter_cols = _columns(Interaction)
    item_t, lease_t = QueueItem._meta.db_table, Lease._meta.db_table
    queue_t, member_t = Queue._meta.db_table, Membership._meta.db_table
    assign_t = Queue.annotators.through._meta.db_table
    inter_t = Interaction._meta.db_table
    guide_t = Guideline._meta.db_table
    held_items = ", ".join(f'i."{c}" AS "i_{c}"' for c in item_cols)
    new_items = ", ".join(f'b."{c}" AS "i_{c}"' for c in item_cols)
    inter = ", ".join(f'x."{c}" AS "x_{c}"' for c in inter_cols)
    # Table and column names come from the models, never from input: nothing to inject.
    return f"""
WITH q AS (
  SELECT q.state, q.updated_at, q.lease_minutes,
    COALESCE(q.guideline_id, (SELECT g.id FROM {guide_t} g WHERE g.project_id = q.project_id
                              ORDER BY g.version DESC LIMIT 1)) AS guideline_id,
    EXISTS (SELECT 1 FROM {member_t} m
            WHERE m.project_id = q.project_id AND m.user_id = %(user)s) AS member,
    EXISTS (SELECT 1 FROM {assign_t} a
            WHERE a.queue_id = q.id AND a.user_id = %(user)s) AS assigned
  FROM {queue_t} q WHERE q.id = %(queue)s
),
ok AS (SELECT 1 FROM q WHERE q.member AND q.assigned AND q.state = 'active'),
held AS (
  SELECT l.id, l.item_id, l.leased_at, l.expires_at, l.guideline_id FROM {lease_t} l
  WHERE EXISTS (SELECT 1 FROM ok) AND l.queue_id = %(queue)s AND l.annotator_id = %(user)s
    AND l.state = 'active'
  ORDER BY l.expires_at LIMIT 1
),
pick AS (
  SELECT i.id FROM {item_t} i
  WHERE EXISTS (SELECT 1 FROM ok) AND NOT EXISTS (SELECT 1 FROM held)
    AND i.queue_id = %(queue)s AND i.state = 'open'
    AND NOT EXISTS (SELECT 1 FROM {lease_t} w
                    WHERE w.item_id = i.id AND w.annotator_id = %(user)s AND w.state <> 'expired')
  ORDER BY i.priority DESC, i.id LIMIT 1
  FOR UPDATE OF i SKIP LOCKED
),
leased AS (
  INSERT INTO {lease_t}
    (item_id, queue_id, annotator_id, state, guideline_id, leased_at, expires_at, finished_at)
  SELECT p.id, %(queue)s, %(user)s, 'active', q.guideline_id, %(now)s,
         %(now)s + q.lease_minutes * interval '1 minute', NULL
  FROM pick p, q
  ON CONFLICT (item_id, annotator_id) DO UPDATE SET state = EXCLUDED.state,
    guideline_id = EXCLUDED.guideline_id, leased_at = EXCLUDED.leased_at,
    expires_at = EXCLUDED.expires_at, finished_at = NULL
  RETURNING id, item_id, leased_at, expires_at, guideline_id
),
bumped AS (
  UPDATE {item_t} i SET leases_active = i.leases_active + 1,
    state = CASE WHEN i.annotations_wanted - i.annotations_done - i.leases_active - 1 <= 0
                 THEN '{ItemState.IN_PROGRESS}' ELSE i.state END,
    updated_at = %(now)s
  FROM leased l WHERE i.id = l.item_id
  RETURNING i.*
),
found AS (
  SELECT 'held' AS kind, h.id AS lease_id, h.item_id AS lease_item, h.leased_at, h.expires_at,
         h.guideline_id, {held_items}
  FROM held h LEFT JOIN {item_t} i ON i.id = h.item_id AND h.expires_at > %(now)s
  UNION ALL
  SELECT 'new', l.id, l.item_id, l.leased_at, l.expires_at, l.guideline_id, {new_items}
  FROM leased l JOIN bumped b ON b.id = l.item_id
)
SELECT EXISTS (SELECT 1 FROM q) AS queue_found, COALESCE(q.member, false) AS member,
  COALESCE(q.assigned, false) AS assigned, q.state AS queue_state,
  q.updated_at AS queue_updated_at, gl.version AS g_version, gl.text AS g_text,
  gl.created_at AS g_created_at,
  EXISTS (SELECT 1 FROM {lease_t} d WHERE d.queue_id = %(queue)s AND d.state = 'active'
          AND d.expires_at <= %(now)s) AS due,
  f.*, {inter}
FROM (SELECT 1) one
LEFT JOIN q ON true
LEFT JOIN found f ON true
LEFT JOIN {inter_t} x ON x.id = f."i_interaction_id"
LEFT JOIN {guide_t} gl ON gl.id = f.guideline_id
"""  # noqa: S608


_SQL: str | None = None


def _model(model: type[Model], names: list[str], row: dict[str, Any]) -> Any:
    fields = model._meta.concrete_fields
    values = []
    for f, name in zip(fields, names, strict=True):
        value = row[name]
        converter = getattr(f, "from_db_value", None)
        if converter is not None:
            value = converter(value, None, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def lease_statement(
    *,
    queue: Queue,
    annotator: User,
    now: datetime,
) -> LeaseOutcome:
    """Run the statement once; IntegrityError when a concurrent call of the caller leased first."""
    global _SQL
    if _SQL is None:
        _SQL = _sql()
    params: dict[str, Any] = {
        "queue": queue.pk,
        "user": annotator.pk,
        "now": now,
    }

    def run() -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute(_SQL, params)
            names = [c.name for c in cursor.description]
            return dict(zip(names, cursor.fetchone(), strict=True))

    if connection.in_atomic_block:
        with transaction.atomic():
            row = run()
    else:
        row = run()
    return _outcome(row, queue, annotator)


def _outcome(row: dict[str, Any], queue: Queue, annotator: User) -> LeaseOutcome:
    kind = row["kind"]
    lease = item = guideline = None
    if row["guideline_id"] is not None and row["g_version"] is not None:
        guideline = Guideline(
            pk=row["guideline_id"],
            project_id=queue.project_id,
            version=row["g_version"],
            text=row["g_text"],
            created_at=row["g_created_at"],
        )
        guideline._state.adding = False
    if kind is not None:
        lease = Lease(
            pk=row["lease_id"],
            item_id=row["lease_item"],
            queue_id=queue.pk,
            annotator=annotator,
            state=LeaseState.ACTIVE,
            guideline_id=row["guideline_id"],
            leased_at=row["leased_at"],
            expires_at=row["expires_at"],
            finished_at=None,
        )
        lease._state.adding = False
        if row["i_id"] is not None:
            item_names = [f"i_{f.column}" for f in QueueItem._meta.concrete_fields]
            inter_names = [f"x_{f.column}" for f in Interaction._meta.concrete_fields]
            item = _model(QueueItem, item_names, row)
            item.interaction = _model(Interaction, inter_names, row)
            lease.item = item
    return LeaseOutcome(
        exists=bool(row["queue_found"]),
        member=bool(row["member"]),
        assigned=bool(row["assigned"]),
        queue_state=row["queue_state"],
        queue_updated_at=row["queue_updated_at"],
        due=bool(row["due"]),
        kind=kind,
        lease=lease,
        item=item,
        guideline=guideline,
    )


__all__ = ["IntegrityError", "LeaseOutcome", "lease_statement"]
