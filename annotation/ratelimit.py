"""Fixed-window request counters in the cache (Redis in production, shared by every process)."""

from __future__ import annotations

import time

from django.core.cache import cache


def rate_limit_hit(key: str, *, limit: int, window_seconds: int) -> int | None:
    """Count one request against `key`; the seconds to wait when over `limit`, else None."""
    now = time.time()
    window = int(now // window_seconds)
    bucket = f"ratelimit:{key}:{window}"
    # add() is atomic: the first request of a window creates the counter with its expiry.
    if cache.add(bucket, 1, timeout=window_seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(bucket)
        except ValueError:  # expired between add() and incr()
            cache.add(bucket, 1, timeout=window_seconds + 1)
            count = 1
    if count <= limit:
        return None
    return max(1, int((window + 1) * window_seconds - now) + 1)
