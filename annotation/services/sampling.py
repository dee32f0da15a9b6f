"""Filling review queues: one set-based `INSERT … SELECT` over the queue's sources.

For each source a criteria set is computed in SQL (low ratings, flags, evaluator scores, implicit
events; the random source has none: everything the filters let through meets it). An interaction
is picked by source i when it meets the criteria and its deterministic draw u_i < rate_i, where

    u_i = hash(request_id || ':' || seed || ':' || source name) mapped to [0, 1).

The draw depends only on (seed, source, interaction), so refilling never re-draws, and the draws of
two sources are independent, which makes the probability that the union picks an interaction

    inclusion_probability = 1 - Π (1 - rate_i) over the sources whose criteria it meets.

On PostgreSQL the hash is `hashtextextended` (its low 53 bits over 2^53). SQLite, used by the
demo, has no such function: a deterministic `fl_unit_hash` (BLAKE2b) is registered on the
connection instead, so draws are reproducible there too but differ from PostgreSQL's.
"""

# The SQL here is composed from table names and fixed fragments; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from annotation.models import Check, Feedback, Flag, Interaction
from annotation.models.checks import EVALUATOR_TYPES
from annotation.models.review import UNFINISHED_STATES, Queue, QueueItem
from annotation.schemas.queue_definition import (
    Filters,
    Source,
    parse_filters,
    parse_sources,
    priority_order,
)

_SQLITE_HASH = "fl_unit_hash"
_2_53 = 2**53


def unit_hash_python(key: str) -> float:
    """The SQLite draw: the top 53 bits of BLAKE2b-64 of `key`, over 2^53."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / _2_53


def _register_sqlite_hash() -> None:
    connection.ensure_connection()
    connection.connection.create_function(_SQLITE_HASH, 1, unit_hash_python, deterministic=True)


@dataclass
class Sql:
    """A SQL fragment and its parameters, composed in order."""

    text: str
    params: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class FillOutcome:
    added: int
    by_reason: dict[str, int]
    room: int


@dataclass(frozen=True)
class Preview:
    room: int
    candidates: int
    candidates_by_reason: dict[str, int]
    would_add: int
    would_add_by_reason: dict[str, int]


class _Builder:
    """Builds the candidate query of one queue for the current database vendor."""

    def __init__(self, queue: Queue, *, now: datetime | None = None) -> None:
        self.queue = queue
        self.now = now or timezone.now()
        self.pg = connection.vendor == "postgresql"
        self.sources = parse_sources(queue.sources)
        self.filters = parse_filters(queue.filters or {})
        order = priority_order(queue.priority or [], self.sources)
        self.weights = {name: 2 ** (len(order) - 1 - rank) for rank, name in enumerate(order)}
        self.checks = dict(
            Check.objects.filter(project_id=queue.project_id).values_list("name", "id")
        )
        self.evaluators = list(
            Check.objects.filter(project_id=queue.project_id, type__in=EVALUATOR_TYPES).values_list(
                "id", flat=True
            )
        )
        self.interaction = Interaction._meta.db_table
        self.feedback = Feedback._meta.db_table
        self.flag = Flag._meta.db_table
        self.item = QueueItem._meta.db_table
        if not self.pg:
            _register_sqlite_hash()

    # -- pieces ----------------------------------------------------------------------------------

    def draw(self, column: str, source: Source) -> Sql:
        seed = source.seed if source.seed is not None else self.queue.seed
        suffix = f":{seed}:{source.name}"
        if self.pg:
            return Sql(
                f"((hashtextextended({column} || %s, 0) & 9007199254740991)::float8 "
                "/ 9007199254740992.0)",
                [suffix],
            )
        return Sql(f"{_SQLITE_HASH}({column} || %s)", [suffix])

    @staticmethod
    def _in(column: str, values: Sequence[Any]) -> Sql:
        if not values:
            return Sql("1 = 0")
        return Sql(f"{column} IN ({', '.join(['%s'] * len(values))})", list(values))

    def criteria(self, source: Source) -> Sql:
        """`SELECT id` of the interactions meeting the source's criteria (not random)."""
        project = self.queue.project_id
        if source.type == "low_rated":
            sql = Sql(
                f"SELECT f.interaction_id AS id FROM {self.feedback} f "
                "WHERE f.project_id = %s AND f.interaction_id IS NOT NULL AND "
                "((f.kind = 'rating' AND f.normalized_score <= %s)",
                [project, source.threshold],
            )
            negatives = self.queue.project.negative_label_names if source.negative_labels else []
            if negatives:
                if self.pg:
                    sql.text += " OR (f.kind = 'label' AND jsonb_exists_any(f.labels, %s))"
                    sql.params.append(list(negatives))
                else:
                    labels = self._in("e.value", negatives)
                    sql.text += (
                        " OR (f.kind = 'label' AND EXISTS (SELECT 1 FROM json_each(f.labels) e "
                        f"WHERE {labels.text}))"
                    )
                    sql.params += labels.params
            sql.text += ")"
            return sql
        if source.type == "implicit_negative":
            events = self._in("f.event", source.events)
            return Sql(
                f"SELECT f.interaction_id AS id FROM {self.feedback} f "
                "WHERE f.project_id = %s AND f.interaction_id IS NOT NULL "
                f"AND f.kind = 'implicit' AND {events.text}",
                [project, *events.params],
            )
        if source.type == "flagged":
            ids = [self.checks[n] for n in source.checks if n in self.checks]
            checks = self._in("fl.check_id", ids) if source.checks else Sql("1 = 1")
            return Sql(
                f"SELECT fl.interaction_id AS id FROM {self.flag} fl "
                f"WHERE fl.project_id = %s AND fl.flagged = %s AND fl.severity >= %s "
                f"AND {checks.text}",
                [project, True, int(source.min_severity), *checks.params],
            )
        if source.type == "uncertain":
            ids = (
                [self.checks[n] for n in source.checks if n in self.checks]
                if source.checks
                else self.evaluators
            )
            checks = self._in("fl.check_id", ids)
            return Sql(
                f"SELECT fl.interaction_id AS id FROM {self.flag} fl "
                f"WHERE fl.project_id = %s AND {checks.text} AND fl.score >= %s AND fl.score <= %s",
                [project, *checks.params, source.low, source.high],
            )
        raise ValueError(f"no criteria set for {source.type} sources")

    def filter_sql(self, alias: str, filters: Filters) -> Sql:
        parts: list[Sql] = []
        for key, values in filters.lists.items():
            parts.append(self._in(f"{alias}.{key}", values))
        if filters.since:
            parts.append(Sql(f"{alias}.timestamp >= %s", [filters.since]))
        if filters.until:
            parts.append(Sql(f"{alias}.timestamp < %s", [filters.until]))
        if filters.last_hours:
            parts.append(
                Sql(f"{alias}.timestamp >= %s", [self.now - timedelta(hours=filters.last_hours)])
            )
        if filters.metadata:
            if self.pg:
                parts.append(Sql(f"{alias}.metadata @> %s::jsonb", [json.dumps(filters.metadata)]))
            else:
                for key, value in filters.metadata.items():
                    parts.append(
                        Sql(f"json_extract({alias}.metadata, %s) = %s", [f'$."{key}"', value])
                    )
        if not parts:
            return Sql("1 = 1")
        return Sql(" AND ".join(p.text for p in parts), [x for p in parts for x in p.params])

    def reasons_json(self) -> Sql:
        cases = ", ".join(
            f"CASE WHEN p{i} THEN %s END" if not self.pg else f"CASE WHEN p{i} THEN %s::text END"
            for i in range(len(self.sources))
        )
        names = [s.name for s in self.sources]
        if self.pg:
            return Sql(f"to_jsonb(array_remove(ARRAY[{cases}]::text[], NULL))", names)
        return Sql(
            "(SELECT json_group_array(e.value) FROM "
            f"json_each(json_array({cases})) e WHERE e.value IS NOT NULL)",
            names,
        )

    # -- the query -------------------------------------------------------------------------------

    def scored(self) -> Sql:
        """CTEs ending in `scored(id, p0…, probability, priority)`: the new candidates."""
        ctes: list[Sql] = []
        tagged: list[str] = []
        picks: list[Sql] = []
        project = self.queue.project_id
        for index, source in enumerate(self.sources):
            tagged.append(f"SELECT id, {index} AS src FROM c{index}")
            member = f"(f{index} = 1)"
            if source.type == "random":
                ctes.append(self._random_picks(index, source))
                # The random source's criteria are the filters, which every candidate meets.
                picks.append(Sql(f"TRUE AS m{index}, {member} AS p{index}"))
                continue
            crit = self.criteria(source)
            ctes.append(Sql(f"c{index} AS MATERIALIZED ({crit.text})", crit.params))
            if source.rate < 1:
                draw = self.draw("i.request_id", source)
                picks.append(
                    Sql(
                        f"{member} AS m{index}, ({member} AND {draw.text} < %s) AS p{index}",
                        [*draw.params, source.rate],
                    )
                )
            else:
                picks.append(Sql(f"{member} AS m{index}, {member} AS p{index}"))
        # Which sets each id is in, by aggregation rather than `id IN (SELECT …)` subplans, which
        # the planner may not hash when it misjudges a set's size.
        flags = ", ".join(
            f"MAX(CASE WHEN src = {i} THEN 1 ELSE 0 END) AS f{i}" for i in range(len(self.sources))
        )
        ctes.append(
            Sql(
                f"pool AS MATERIALIZED (SELECT id, {flags} FROM ("
                + " UNION ALL ".join(tagged)
                + ") tagged GROUP BY id)"
            )
        )
        ctes.append(self._candidates(project))
        ctes.append(
            Sql(
                f"picked AS (SELECT i.id, {', '.join(p.text for p in picks)} FROM cand i)",
                [x for p in picks for x in p.params],
            )
        )
        probability = " * ".join(
            f"(CASE WHEN m{i} THEN {1.0 - s.rate!r} ELSE 1.0 END)"
            for i, s in enumerate(self.sources)
        )
        priority = " + ".join(
            f"(CASE WHEN p{i} THEN {self.weights[s.name]} ELSE 0 END)"
            for i, s in enumerate(self.sources)
        )
        picked_cols = ", ".join(f"p{i}" for i in range(len(self.sources)))
        any_pick = " OR ".join(f"p{i}" for i in range(len(self.sources)))
        ctes.append(
            Sql(
                f"scored AS (SELECT id, {picked_cols}, 1.0 - {probability} AS probability, "
                f"{priority} AS priority FROM picked WHERE {any_pick})"
            )
        )
        return Sql("WITH " + ", ".join(c.text for c in ctes), [x for c in ctes for x in c.params])

    def _random_picks(self, index: int, source: Source) -> Sql:
        """`c{index}(id)`: the interactions the random source draws.

        The draw reads only (project_id, request_id): an index-only scan of the unique index.
        The planner cannot estimate the hash filter (it guesses a third of the rows), so on
        PostgreSQL the id look-ups are spelt as LATERAL index probes, with LIMIT 1 (request_ids
        are unique) so it does not flatten them back into a hash join over the whole table.
        """
        draw = self.draw("ri.request_id", source)
        keys = (
            f"SELECT ri.request_id FROM {self.interaction} ri "
            f"WHERE ri.project_id = %s AND {draw.text} < %s"
        )
        join = (
            f"CROSS JOIN LATERAL (SELECT ir.id FROM {self.interaction} ir WHERE "
            "ir.project_id = %s AND ir.request_id = k.request_id LIMIT 1) ir"
            if self.pg
            else f"JOIN {self.interaction} ir ON ir.project_id = %s AND ir.request_id = k.request_id"
        )
        project = self.queue.project_id
        return Sql(
            f"c{index} AS MATERIALIZED (SELECT ir.id FROM ({keys}) k {join})",
            [project, *draw.params, source.rate, project],
        )

    def _candidates(self, project: int) -> Sql:
        """`cand(id, f0…, request_id)`: pool members the filters let through, not yet in the queue.

        Each is one probe of the queue's unique index, inside a LATERAL so that stale statistics
        after a big fill cannot turn the anti-join into a scan per row. The interaction row itself
        is read only when filters or per-row draws need it.
        """
        queued = (
            f"NOT EXISTS (SELECT 1 FROM {self.item} q "
            "WHERE q.queue_id = %s AND q.interaction_id = {id})"
        )
        flags = ", ".join(f"pool.f{i}" for i in range(len(self.sources)))
        needs_row = bool(self.queue.filters) or any(
            s.rate < 1 for s in self.sources if s.type != "random"
        )
        if not needs_row:
            if self.pg:
                text = (
                    f"cand AS (SELECT pool.id, {flags}, NULL AS request_id FROM pool CROSS JOIN "
                    f"LATERAL (SELECT 1 AS one WHERE {queued.format(id='pool.id')} LIMIT 1) i)"
                )
            else:
                text = (
                    f"cand AS (SELECT pool.id, {flags}, NULL AS request_id FROM pool "
                    f"WHERE {queued.format(id='pool.id')})"
                )
            return Sql(text, [self.queue.pk])
        where = self.filter_sql("i", self.filters)
        if self.pg:
            text = (
                f"cand AS (SELECT pool.id, {flags}, i.request_id FROM pool CROSS JOIN LATERAL "
                f"(SELECT i.request_id FROM {self.interaction} i WHERE i.id = pool.id "
                f"AND i.project_id = %s AND {where.text} AND {queued.format(id='i.id')} "
                "LIMIT 1) i)"
            )
        else:
            text = (
                f"cand AS (SELECT pool.id, {flags}, i.request_id FROM pool JOIN {self.interaction} i "
                f"ON i.id = pool.id WHERE i.project_id = %s AND {where.text} "
                f"AND {queued.format(id='i.id')})"
            )
        return Sql(text, [project, *where.params, self.queue.pk])


def _without_jit(cursor: Any) -> None:
    """Switch PostgreSQL's JIT off for this transaction: compiling the fill's expressions takes
    about a second, longer than running them."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off")


def queue_room(queue: Queue) -> int:
    """How many more unfinished items the queue may hold."""
    unfinished = QueueItem.objects.filter(queue=queue, state__in=UNFINISHED_STATES).count()
    return max(queue.capacity - unfinished, 0)


def queue_sample_insert(
    *, queue: Queue, fill_id: int | None, now: datetime | None = None
) -> FillOutcome:
    """Insert the queue's new candidates, best first, up to its free capacity.

    The caller holds the queue's row lock (see `services.queues.queue_fill_run`), so fills of one
    queue never interleave; ON CONFLICT covers an item added by any other path meanwhile.
    """
    now = now or timezone.now()
    room = queue_room(queue)
    if room == 0:
        return FillOutcome(added=0, by_reason={}, room=0)
    builder = _Builder(queue, now=now)
    scored = builder.scored()
    reasons = builder.reasons_json()
    sql = (
        f"{scored.text} INSERT INTO {builder.item} (queue_id, interaction_id, fill_id, reasons, "
        "inclusion_probability, priority, state, annotations_wanted, annotations_done, "
        "leases_active, skips, created_at, updated_at) "
        f"SELECT %s, id, %s, {reasons.text}, probability, priority, 'open', %s, 0, 0, 0, %s, %s "
        "FROM scored WHERE 1 = 1 ORDER BY priority DESC, id DESC LIMIT %s "
        "ON CONFLICT (queue_id, interaction_id) DO NOTHING"
    )
    params = [*scored.params, queue.pk, fill_id, *reasons.params, queue.overlap, now, now, room]
    with connection.cursor() as cursor:
        _without_jit(cursor)
        cursor.execute(sql, params)
        added = cursor.rowcount
    if added < 0:  # SQLite does not count rows inserted by a statement with a CTE.
        added = QueueItem.objects.filter(queue=queue, fill_id=fill_id).count()
    by_reason = reason_counts(QueueItem.objects.filter(fill_id=fill_id)) if fill_id else {}
    return FillOutcome(added=added, by_reason=by_reason, room=room)


def reason_counts(items: Any) -> dict[str, int]:
    """Items per reason over a QueueItem queryset (an item counts once for each of its reasons)."""
    query, params = items.order_by().values("id", "reasons").query.sql_with_params()
    elements = (
        "CROSS JOIN LATERAL jsonb_array_elements_text(sub.reasons) AS e(value)"
        if connection.vendor == "postgresql"
        else ", json_each(sub.reasons) AS e"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.value, COUNT(*) FROM ({query}) sub {elements} GROUP BY e.value",
            params,
        )
        return {name: count for name, count in sorted(cursor.fetchall())}


def queue_sample_preview(*, queue: Queue, now: datetime | None = None) -> Preview:
    """What a fill would add now, by reason, without adding anything."""
    builder = _Builder(queue, now=now)
    room = queue_room(queue)
    scored = builder.scored()
    sums = []
    for index in range(len(builder.sources)):
        sums.append(f"SUM(CASE WHEN p{index} THEN 1 ELSE 0 END)")
        sums.append(f"SUM(CASE WHEN p{index} AND pos <= %s THEN 1 ELSE 0 END)")
    sql = (
        f"{scored.text}, ranked AS (SELECT scored.*, ROW_NUMBER() OVER "
        "(ORDER BY priority DESC, id DESC) AS pos FROM scored) "
        f"SELECT COUNT(*), SUM(CASE WHEN pos <= %s THEN 1 ELSE 0 END), {', '.join(sums)} "
        "FROM ranked"
    )
    params = [*scored.params, room, *[room] * len(builder.sources)]
    with transaction.atomic(), connection.cursor() as cursor:
        _without_jit(cursor)
        cursor.execute(sql, params)
        row = cursor.fetchone()
    values = [int(v or 0) for v in row]
    names = [s.name for s in builder.sources]
    return Preview(
        room=room,
        candidates=values[0],
        would_add=values[1],
        candidates_by_reason={n: values[2 + 2 * i] for i, n in enumerate(names)},
        would_add_by_reason={n: values[3 + 2 * i] for i, n in enumerate(names)},
    )
