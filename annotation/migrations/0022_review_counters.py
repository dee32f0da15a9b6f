"""Queue counters kept by triggers: items by state and reason, annotations and skips by annotator.

PostgreSQL: items inserted or deleted are counted once per statement (transition tables, so a
fill of 80,000 items adds a handful of rows); a change of an item's state or reasons, an
annotation and a skip add rows per row changed. Every trigger only appends `delta` rows, so two
transactions never update the same counter row (no waits, no deadlocks on the hot path);
`queue_counters_compact` folds them. SQLite (one writer) adds to one row per name.
"""
# Every statement is built from the table names below and constants: nothing comes from input.
# ruff: noqa: S608

from typing import Any

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

C = "annotation_queuecounter"
ITEM = "annotation_queueitem"
NOTE = "annotation_annotation"
LEASE = "annotation_lease"
QUEUE = "annotation_queue"

_PG_REASONS = (
    "jsonb_array_elements_text(CASE WHEN jsonb_typeof({t}.reasons) = 'array' "
    "THEN {t}.reasons ELSE '[]'::jsonb END) AS r(value)"
)

PG_CREATE = [
    f"""
CREATE FUNCTION annotation_qc_items_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {C} (queue_id, kind, name, delta)
  SELECT queue_id, 'state', state, count(*) FROM qc_rows GROUP BY queue_id, state
  UNION ALL
  SELECT queue_id, 'reason', r.value, count(*) FROM qc_rows, {_PG_REASONS.format(t="qc_rows")}
  GROUP BY queue_id, r.value;
  RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION annotation_qc_items_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {C} (queue_id, kind, name, delta)
  SELECT queue_id, 'state', state, -count(*) FROM qc_rows GROUP BY queue_id, state
  UNION ALL
  SELECT queue_id, 'reason', r.value, -count(*) FROM qc_rows, {_PG_REASONS.format(t="qc_rows")}
  GROUP BY queue_id, r.value;
  RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION annotation_qc_item_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IS DISTINCT FROM NEW.state THEN
    INSERT INTO {C} (queue_id, kind, name, delta)
    VALUES (OLD.queue_id, 'state', OLD.state, -1), (NEW.queue_id, 'state', NEW.state, 1);
  END IF;
  IF OLD.reasons IS DISTINCT FROM NEW.reasons THEN
    INSERT INTO {C} (queue_id, kind, name, delta)
    SELECT OLD.queue_id, 'reason', r.value, -1 FROM {_PG_REASONS.format(t="OLD")}
    UNION ALL
    SELECT NEW.queue_id, 'reason', r.value, 1 FROM {_PG_REASONS.format(t="NEW")};
  END IF;
  RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION annotation_qc_annotation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {C} (queue_id, kind, name, delta)
    SELECT i.queue_id, 'done_by', NEW.annotator_id::text, 1 FROM {ITEM} i WHERE i.id = NEW.item_id;
  ELSE
    INSERT INTO {C} (queue_id, kind, name, delta)
    SELECT i.queue_id, 'done_by', OLD.annotator_id::text, -1 FROM {ITEM} i WHERE i.id = OLD.item_id;
  END IF;
  RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION annotation_qc_lease() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'skipped' THEN
    INSERT INTO {C} (queue_id, kind, name, delta)
    VALUES (OLD.queue_id, 'skipped_by', OLD.annotator_id::text, -1);
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.state = 'skipped' THEN
    INSERT INTO {C} (queue_id, kind, name, delta)
    VALUES (NEW.queue_id, 'skipped_by', NEW.annotator_id::text, 1);
  END IF;
  RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION annotation_qc_queue_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM {C} WHERE queue_id = OLD.id;
  RETURN NULL;
END $$""",
    f"""CREATE TRIGGER annotation_qc_queue_deleted AFTER DELETE ON {QUEUE}
FOR EACH ROW EXECUTE FUNCTION annotation_qc_queue_deleted()""",
    f"""CREATE TRIGGER annotation_qc_items_inserted AFTER INSERT ON {ITEM}
REFERENCING NEW TABLE AS qc_rows FOR EACH STATEMENT EXECUTE FUNCTION annotation_qc_items_inserted()""",
    f"""CREATE TRIGGER annotation_qc_items_deleted AFTER DELETE ON {ITEM}
REFERENCING OLD TABLE AS qc_rows FOR EACH STATEMENT EXECUTE FUNCTION annotation_qc_items_deleted()""",
    f"""CREATE TRIGGER annotation_qc_item_changed AFTER UPDATE OF state, reasons ON {ITEM}
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.reasons IS DISTINCT FROM NEW.reasons)
EXECUTE FUNCTION annotation_qc_item_changed()""",
    f"""CREATE TRIGGER annotation_qc_annotation AFTER INSERT OR DELETE ON {NOTE}
FOR EACH ROW EXECUTE FUNCTION annotation_qc_annotation()""",
    f"""CREATE TRIGGER annotation_qc_lease_skip AFTER UPDATE OF state ON {LEASE}
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
                   AND (OLD.state = 'skipped' OR NEW.state = 'skipped'))
EXECUTE FUNCTION annotation_qc_lease()""",
    f"""CREATE TRIGGER annotation_qc_lease_skip_inserted AFTER INSERT ON {LEASE}
FOR EACH ROW WHEN (NEW.state = 'skipped') EXECUTE FUNCTION annotation_qc_lease()""",
    f"""CREATE TRIGGER annotation_qc_lease_skip_deleted AFTER DELETE ON {LEASE}
FOR EACH ROW WHEN (OLD.state = 'skipped') EXECUTE FUNCTION annotation_qc_lease()""",
]

PG_DROP = [
    f"DROP TRIGGER IF EXISTS annotation_qc_items_inserted ON {ITEM}",
    f"DROP TRIGGER IF EXISTS annotation_qc_items_deleted ON {ITEM}",
    f"DROP TRIGGER IF EXISTS annotation_qc_item_changed ON {ITEM}",
    f"DROP TRIGGER IF EXISTS annotation_qc_annotation ON {NOTE}",
    f"DROP TRIGGER IF EXISTS annotation_qc_lease_skip ON {LEASE}",
    f"DROP TRIGGER IF EXISTS annotation_qc_lease_skip_inserted ON {LEASE}",
    f"DROP TRIGGER IF EXISTS annotation_qc_lease_skip_deleted ON {LEASE}",
    f"DROP TRIGGER IF EXISTS annotation_qc_queue_deleted ON {QUEUE}",
    "DROP FUNCTION IF EXISTS annotation_qc_queue_deleted()",
    "DROP FUNCTION IF EXISTS annotation_qc_items_inserted()",
    "DROP FUNCTION IF EXISTS annotation_qc_items_deleted()",
    "DROP FUNCTION IF EXISTS annotation_qc_item_changed()",
    "DROP FUNCTION IF EXISTS annotation_qc_annotation()",
    "DROP FUNCTION IF EXISTS annotation_qc_lease()",
]


def _queue_alive(queue: str) -> str:
    """SQLite: the queue still exists (rows deleted after their queue, or their item, in a bulk
    delete or a flush, have no counter left to change)."""
    return f"{queue} IS NOT NULL AND EXISTS (SELECT 1 FROM {QUEUE} WHERE id = {queue})"


def _sq_add(queue: str, kind: str, name: str, delta: str) -> str:
    """SQLite: add `delta` to one counter row (created when missing); one writer at a time."""
    where = f"queue_id = {queue} AND kind = '{kind}' AND name = {name}"
    return (
        f"UPDATE {C} SET delta = delta + ({delta}) WHERE {where};\n"
        f"INSERT INTO {C} (queue_id, kind, name, delta) SELECT {queue}, '{kind}', {name}, {delta} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {C} WHERE {where}) AND {_queue_alive(queue)};\n"
    )


def _sq_reasons(queue: str, reasons: str, delta: str) -> str:
    """SQLite: add `delta` to the counter of each reason in the JSON list `reasons`."""
    each = f"json_each(CASE WHEN json_valid({reasons}) THEN {reasons} ELSE '[]' END)"
    where = f"c.queue_id = {queue} AND c.kind = 'reason' AND c.name = e.value"
    return (
        f"UPDATE {C} SET delta = delta + ({delta}) WHERE queue_id = {queue} AND kind = 'reason' "
        f"AND name IN (SELECT value FROM {each});\n"
        f"INSERT INTO {C} (queue_id, kind, name, delta) SELECT {queue}, 'reason', e.value, {delta} "
        f"FROM {each} AS e WHERE NOT EXISTS (SELECT 1 FROM {C} AS c WHERE {where}) "
        f"AND {_queue_alive(queue)};\n"
    )


SQLITE_CREATE = [
    f"""CREATE TRIGGER annotation_qc_queue_deleted AFTER DELETE ON {QUEUE} BEGIN
DELETE FROM {C} WHERE queue_id = OLD.id;
END""",
    f"""CREATE TRIGGER annotation_qc_items_inserted AFTER INSERT ON {ITEM} BEGIN
{_sq_add("NEW.queue_id", "state", "NEW.state", "1")}{_sq_reasons("NEW.queue_id", "NEW.reasons", "1")}END""",
    f"""CREATE TRIGGER annotation_qc_items_deleted AFTER DELETE ON {ITEM} BEGIN
{_sq_add("OLD.queue_id", "state", "OLD.state", "-1")}{_sq_reasons("OLD.queue_id", "OLD.reasons", "-1")}END""",
    f"""CREATE TRIGGER annotation_qc_item_state AFTER UPDATE OF state ON {ITEM}
WHEN OLD.state IS NOT NEW.state BEGIN
{_sq_add("OLD.queue_id", "state", "OLD.state", "-1")}{_sq_add("NEW.queue_id", "state", "NEW.state", "1")}END""",
    f"""CREATE TRIGGER annotation_qc_item_reasons AFTER UPDATE OF reasons ON {ITEM}
WHEN OLD.reasons IS NOT NEW.reasons BEGIN
{_sq_reasons("OLD.queue_id", "OLD.reasons", "-1")}{_sq_reasons("NEW.queue_id", "NEW.reasons", "1")}END""",
    f"""CREATE TRIGGER annotation_qc_annotation_inserted AFTER INSERT ON {NOTE} BEGIN
{_sq_add(f"(SELECT queue_id FROM {ITEM} WHERE id = NEW.item_id)", "done_by", "CAST(NEW.annotator_id AS TEXT)", "1")}END""",
    f"""CREATE TRIGGER annotation_qc_annotation_deleted AFTER DELETE ON {NOTE} BEGIN
{_sq_add(f"(SELECT queue_id FROM {ITEM} WHERE id = OLD.item_id)", "done_by", "CAST(OLD.annotator_id AS TEXT)", "-1")}END""",
    f"""CREATE TRIGGER annotation_qc_lease_skip AFTER UPDATE OF state ON {LEASE}
WHEN OLD.state IS NOT NEW.state AND (OLD.state = 'skipped' OR NEW.state = 'skipped') BEGIN
{_sq_add("OLD.queue_id", "skipped_by", "CAST(OLD.annotator_id AS TEXT)", "-(OLD.state = 'skipped')")}{_sq_add("NEW.queue_id", "skipped_by", "CAST(NEW.annotator_id AS TEXT)", "(NEW.state = 'skipped')")}END""",
    f"""CREATE TRIGGER annotation_qc_lease_skip_inserted AFTER INSERT ON {LEASE}
WHEN NEW.state = 'skipped' BEGIN
{_sq_add("NEW.queue_id", "skipped_by", "CAST(NEW.annotator_id AS TEXT)", "1")}END""",
    f"""CREATE TRIGGER annotation_qc_lease_skip_deleted AFTER DELETE ON {LEASE}
WHEN OLD.state = 'skipped' BEGIN
{_sq_add("OLD.queue_id", "skipped_by", "CAST(OLD.annotator_id AS TEXT)", "-1")}END""",
]

SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "annotation_qc_queue_deleted",
        "annotation_qc_items_inserted",
        "annotation_qc_items_deleted",
        "annotation_qc_item_state",
        "annotation_qc_item_reasons",
        "annotation_qc_annotation_inserted",
        "annotation_qc_annotation_deleted",
        "annotation_qc_lease_skip",
        "annotation_qc_lease_skip_inserted",
        "annotation_qc_lease_skip_deleted",
    )
]


def _backfill(vendor: str) -> list[str]:
    reasons = (
        f"FROM {ITEM} i, {_PG_REASONS.format(t='i')}"
        if vendor == "postgresql"
        else f"FROM {ITEM} i, json_each(CASE WHEN json_valid(i.reasons) THEN i.reasons ELSE '[]' END) AS r"
    )
    text = "::text" if vendor == "postgresql" else ""
    return [
        f"INSERT INTO {C} (queue_id, kind, name, delta) "
        f"SELECT queue_id, 'state', state, count(*) FROM {ITEM} GROUP BY queue_id, state",
        f"INSERT INTO {C} (queue_id, kind, name, delta) "
        f"SELECT i.queue_id, 'reason', r.value, count(*) {reasons} GROUP BY i.queue_id, r.value",
        f"INSERT INTO {C} (queue_id, kind, name, delta) "
        f"SELECT i.queue_id, 'done_by', CAST(a.annotator_id AS TEXT){text}, count(*) "
        f"FROM {NOTE} a JOIN {ITEM} i ON i.id = a.item_id GROUP BY i.queue_id, a.annotator_id",
        f"INSERT INTO {C} (queue_id, kind, name, delta) "
        f"SELECT queue_id, 'skipped_by', CAST(annotator_id AS TEXT), count(*) FROM {LEASE} "
        "WHERE state = 'skipped' GROUP BY queue_id, annotator_id",
    ]


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}.get(vendor)
    if statements is None:
        raise RuntimeError(f"queue counters need PostgreSQL or SQLite, not {vendor}")
    for sql in [*statements, *_backfill(vendor)]:
        schema_editor.execute(sql, params=None)


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in PG_DROP if vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0021_ux"),
    ]

    operations: list[Any] = [
        migrations.CreateModel(
            name="QueueCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=16)),
                ("name", models.CharField(max_length=64)),
                ("delta", models.BigIntegerField()),
                (
                    "queue",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="counters",
                        to="annotation.queue",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["queue", "kind", "name"], name="queue_counter_lookup")
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
