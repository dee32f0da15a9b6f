"""Session advisory locks on PostgreSQL, for work a redelivered Celery task must not repeat.

A worker that dies loses its connection and with it the lock, so a redelivery takes over at
once; while the first worker still runs, the redelivery finds the lock taken. The lock lives on
the session: a worker's connection must stay its own for the whole task (PgBouncer session
pooling, or a direct connection; see README, "Connection pooling"). Elsewhere (SQLite, the
demo's eager tasks in one process) there is no lock and the caller relies on its status
transition alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def session_lock(namespace: int, key: int) -> Iterator[bool | None]:
    """Try `pg_try_advisory_lock(namespace, key)`; yields True (held), False (another session
    holds it) or None (not PostgreSQL: no lock taken). Unlocked on the way out."""
    if connection.vendor != "postgresql":
        yield None
        return
    args = (namespace, key & 0x7FFFFFFF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", args)
        locked = bool(cursor.fetchone()[0])
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", args)
