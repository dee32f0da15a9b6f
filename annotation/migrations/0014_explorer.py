"""The explorer's full-text search: a GIN index on each interaction's words (PostgreSQL only).

One document per interaction, its response and the contents of its messages, split into words by
the `simple` configuration (no stemming, no stop words: product names, error codes and any
language match as typed). `annotation_prompt_text` joins the messages' contents; it must be
IMMUTABLE to be indexed, and it is (it reads only its argument). The index is built
CONCURRENTLY, so ingestion keeps writing while it builds on a large table; that cannot run in a
transaction, hence `atomic = False`. SQLite (the demo) gets nothing: the explorer falls back to
substring matching there (annotation/selectors/explorer.py).

Full-text rather than trigrams: a word index is a fraction of a trigram index's size, needs no
extension (pg_trgm needs a superuser to install), and searching for words is what people do here.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION annotation_prompt_text(messages jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(string_agg(element ->> 'content', ' '), '')
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(messages) = 'array' THEN messages ELSE '[]'::jsonb END
    ) AS element
    WHERE jsonb_typeof(element) = 'object'
$$
"""
INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS interaction_text_search "
    "ON annotation_interaction USING gin ("
    "to_tsvector('simple'::regconfig, "
    "COALESCE(response, '') || ' ' || annotation_prompt_text(messages)))"
)


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(INDEX)


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS interaction_text_search")
    schema_editor.execute("DROP FUNCTION IF EXISTS annotation_prompt_text(jsonb)")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("annotation", "0013_rollups"),
    ]

    operations = [migrations.RunPython(forwards, backwards, atomic=False, elidable=False)]
