"""A queue's definition, cached per queue for the annotators' hot path.

`next` answers with the queue's schema and needs its name and project for its messages on every
call. The definition changes rarely, so it is kept in the Django cache under the queue's id and
dropped by the services that change it (`queue_create`, `queue_update`, `queue_assign`) at once
and again when their transaction commits (so a read that raced the change cannot keep an old
copy); entries also expire after `TTL` seconds.

Nothing that decides who may lease, or what a lease records, comes from this cache: the leasing
statement (`annotation.services.lease_statement`) reads the caller's membership and assignment,
the queue's state and lease minutes and the guideline version (pinned or the project's latest)
itself, and returns the queue's `updated_at`; a cached copy older than that is reloaded.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection, transaction

from annotation.models.review import Queue

TTL = 300
_VERSION = 1


def _key(queue_id: int) -> str:
    return f"review:queue-brief:{_VERSION}:{queue_id}"


def queue_brief(queue_id: int, *, fresh: bool = False) -> Queue | None:
    """The queue with its project, from the cache (one query on a miss, or with `fresh`)."""
    key = _key(queue_id)
    # SQLite (the embedded default) takes the simpler path, which reads the queue every time.
    if not fresh and connection.vendor == "postgresql":
        queue = cache.get(key)
        if isinstance(queue, Queue) and queue.pk == queue_id:
            return queue
    queue = Queue.objects.select_related("project").filter(pk=queue_id).first()
    if queue is not None:
        cache.set(key, queue, TTL)
    else:
        cache.delete(key)
    return queue


def queue_brief_forget(*queue_ids: int) -> None:
    """Drop the cached definitions of these queues now and once the transaction commits."""
    keys = [_key(pk) for pk in queue_ids]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))
