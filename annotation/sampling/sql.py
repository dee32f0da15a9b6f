"""The sampling SQL of review queues: one set-based `INSERT … SELECT` over the queue's sources.

Two stages, both deterministic hash draws (no Python RNG), both in the one statement:

1. Sources. An interaction meeting source i's criteria is picked by it when
   u_i = hash(request_id || ':' || seed || ':' || source name) < rate_i. The draws depend only on
   (seed, source, interaction), so refills never re-draw, and two sources' draws are independent.
2. Capacity. The picked candidates not yet queued are stratified by their most important picking
   reason (the queue's `priority`, then the order of `sources`). Whole strata are taken in that
   order while room lasts; the stratum where room runs out is subsampled: its candidates with the
   smallest v = hash(interaction id || ':' || seed || ':fill-' || fill id) are taken, a simple
   random sample drawn afresh by each fill. Stratum k's fraction in the fill is f_k = taken_k / N_k.

An item's inclusion probability is the chance that the fill took it given the fill's candidates:
with S the sources whose criteria it meets, in priority order,

    inclusion_probability = Σ_{k ∈ S} rate_k · Π_{j ∈ S before k} (1 - rate_j) · f_k

(the chance that k is its most important picking source, times k's fraction). With no capacity
cut every f_k is 1 and this is the sources' part, 1 - Π_{k ∈ S} (1 - rate_k), stored as
`source_probability`. A stratum the room did not reach has f_k = 0 (an empty one: 1 if room was
left when its turn came, else 0). See README, "Inclusion probability".

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

from django.db import connection
from django.utils import timezone

from annotation.models import Check, Feedback, Flag, Interaction
from annotation.models.checks import EVALUATOR_TYPES
from annotation.models.review import Queue, QueueItem
from annotation.schemas.queue_definition import (
    MAX_LAST_HOURS,
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
    # {stratum: {"candidates": N, "taken": n}} for the strata the fill took items from.
    strata: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Preview:
    room: int
    candidates: int
    candidates_by_reason: dict[str, int]
    would_add: int
    would_add_by_reason: dict[str, int]
    # {stratum: {"candidates": N, "taken": n}} in priority order.
    strata: dict[str, dict[str, int]] = field(default_factory=dict)


class FillSql:
    """Builds the candidate query of one queue for the current database vendor."""

    def __init__(self, queue: Queue, *, now: datetime | None = None) -> None:
        self.queue = queue
        self.now = now or timezone.now()
        self.pg = connection.vendor == "postgresql"
        self.sources = parse_sources(queue.sources)
        self.filters = parse_filters(queue.filters or {})
        order = priority_order(queue.priority or [], self.sources)
        self.weights = {name: 2 ** (len(order) - 1 - rank) for rank, name in enumerate(order)}
        # Stratum k: candidates whose most important picking source is the k-th in this order.
        self.order = order
        self.rank = {name: rank for rank, name in enumerate(order)}
        self.index = {s.name: index for index, s in enumerate(self.sources)}
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
        return self._hash(column, f":{seed}:{source.name}")

    def fill_draw(self, fill_key: str) -> Sql:
        """The capacity subsample's draw: by interaction id (no row read), fresh per fill."""
        return self._hash("CAST(id AS TEXT)", f":{self.queue.seed}:fill-{fill_key}")

    def _hash(self, column: str, suffix: str) -> Sql:
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
            # Bounded as validation bounds it, so a value stored before the bound cannot
            # overflow the subtraction.
            hours = min(filters.last_hours, MAX_LAST_HOURS)
            parts.append(Sql(f"{alias}.timestamp >= %s", [self.now - timedelta(hours=hours)]))
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

    def scored(self, fill_key: str) -> Sql:
        """CTEs ending in `scored(id, m0…, p0…, source_probability, priority, st, u)`: the new
        candidates, with the sources whose criteria each meets (m) and which picked it (p), its
        stratum `st` (the rank of its most important picking source) and its fill draw `u`."""
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
        columns = ", ".join(
            [f"m{i}" for i in range(len(self.sources))]
            + [f"p{i}" for i in range(len(self.sources))]
        )
        any_pick = " OR ".join(f"p{i}" for i in range(len(self.sources)))
        stratum = " ".join(
            f"WHEN p{self.index[name]} THEN {rank}" for rank, name in enumerate(self.order)
        )
        fill = self.fill_draw(fill_key)
        ctes.append(
            Sql(
                f"scored AS (SELECT id, {columns}, 1.0 - {probability} AS source_probability, "
                f"{priority} AS priority, CASE {stratum} END AS st, {fill.text} AS u "
                f"FROM picked WHERE {any_pick})",
                fill.params,
            )
        )
        return Sql("WITH " + ", ".join(c.text for c in ctes), [x for c in ctes for x in c.params])

    def chosen(self, room: int, fill_key: str) -> Sql:
        """CTEs ending in `chosen(id, p0…, st, priority, source_probability, fraction,
        probability)`: what a fill with `room` free places takes, stratum by stratum.

        Also defines `quota(st, n, k)` (candidates and places per stratum) and `ranked` (the
        candidates with their place `pos` in their stratum's draw order) for the preview.
        """
        scored = self.scored(fill_key)
        room = int(room)
        ctes = [
            "sized AS (SELECT st, COUNT(*) AS n FROM scored GROUP BY st)",
            # Whole strata in order while room lasts; the stratum where it runs out gets the rest.
            f"quota AS (SELECT st, n, CASE WHEN {room} - before >= n THEN n "
            f"WHEN {room} - before > 0 THEN {room} - before ELSE 0 END AS k FROM "
            "(SELECT st, n, SUM(n) OVER (ORDER BY st ROWS UNBOUNDED PRECEDING) - n AS before "
            "FROM sized) z)",
        ]
        # Each stratum's fraction, as one row. A stratum with no candidates in this fill would
        # have been taken whole if room was left when its turn came.
        fractions = ", ".join(
            f"COALESCE(MAX(CASE WHEN st = {rank} THEN CAST(k AS DOUBLE PRECISION) / n END), "
            f"CASE WHEN {room} - COALESCE(SUM(CASE WHEN st < {rank} THEN n ELSE 0 END), 0) > 0 "
            f"THEN 1.0 ELSE 0.0 END) AS f{rank}"
            for rank in range(len(self.order))
        )
        # Materialised: one row, not re-aggregated for every candidate.
        ctes.append(f"frac AS MATERIALIZED (SELECT {fractions} FROM quota)")
        ctes.append(
            "ranked AS (SELECT scored.*, ROW_NUMBER() OVER (PARTITION BY st ORDER BY u, id) "
            "AS pos FROM scored)"
        )
        picked = ", ".join(f"r.p{i}" for i in range(len(self.sources)))
        ctes.append(
            f"chosen AS (SELECT r.id, {picked}, r.st, r.priority, r.source_probability, "
            f"CAST(q.k AS DOUBLE PRECISION) / q.n AS fraction, {self._probability()} AS probability "
            "FROM ranked r JOIN quota q ON q.st = r.st CROSS JOIN frac fr WHERE r.pos <= q.k)"
        )
        return Sql(scored.text + ", " + ", ".join(ctes), scored.params)

    def _probability(self) -> str:
        """Σ_k rate_k · Π_{j before k} (1 - rate_j) · f_k over the sources whose criteria the
        candidate meets: the chance that k is its stratum, times k's fraction in the fill."""
        terms = []
        for rank, name in enumerate(self.order):
            source = self.sources[self.index[name]]
            factors = [f"{source.rate!r}", f"fr.f{rank}"]
            for before in self.order[:rank]:
                other = self.sources[self.index[before]]
                if other.rate < 1:
                    factors.append(
                        f"(CASE WHEN r.m{self.index[before]} THEN {1.0 - other.rate!r} ELSE 1.0 END)"
                    )
                else:
                    factors.append(f"(CASE WHEN r.m{self.index[before]} THEN 0.0 ELSE 1.0 END)")
            terms.append(
                f"(CASE WHEN r.m{self.index[name]} THEN {' * '.join(factors)} ELSE 0.0 END)"
            )
        return "(" + " + ".join(terms) + ")"

    def stratum_name(self, column: str) -> Sql:
        cases = " ".join(f"WHEN {rank} THEN %s" for rank in range(len(self.order)))
        return Sql(f"CASE {column} {cases} END", list(self.order))

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


def without_jit(cursor: Any) -> None:
    """Switch PostgreSQL's JIT off for this transaction: compiling the fill's expressions takes
    about a second, longer than running them."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off")
