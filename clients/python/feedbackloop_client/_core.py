"""What the sync and async clients share: the bounded buffer, batching, retry timing, accounting.

The caller's thread only builds a dict and appends it to a deque; everything that can wait (JSON
encoding, HTTP, retries) happens on the sender.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

logger = logging.getLogger("feedbackloop_client")

INTERACTIONS = "interactions"
FEEDBACK = "feedback"
MAX_BATCH = 1000  # the server's limit per request
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


DONE = "done"
SPLIT = "split"


@dataclass(frozen=True)
class Retry:
    reason: str
    retry_after: str | None = None


@dataclass
class Stats:
    """Counters of what happened to everything logged (read them at any time)."""

    enqueued: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    dropped: int = 0
    failed: int = 0
    retries: int = 0
    requests: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "enqueued": self.enqueued,
            "created": self.created,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "failed": self.failed,
            "retries": self.retries,
            "requests": self.requests,
        }


class Marker:
    """Put in the buffer by flush(): set once everything logged before it has been sent."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


Entry = tuple[str, dict[str, Any]] | Marker


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def new_id() -> str:
    return uuid.uuid4().hex


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Full jitter: a uniform draw up to the exponential step, so retrying clients spread out."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """`Retry-After` as seconds (a number or an HTTP date), capped; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, cap))


class Core:
    """The buffer and the accounting; the transports (thread or asyncio task) call into it."""

    def __init__(
        self,
        *,
        max_buffer: int,
        batch_size: int,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        if max_buffer < 1:
            raise ValueError("max_buffer must be at least 1")
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.buffer: deque[Entry] = deque()
        self.stats = Stats()
        self.closed = False
        # Counters are updated from callers' and senders' threads alike.
        self.lock = threading.Lock()
        # Batches taken but not yet answered, so a flush is released only after all of them.
        self.idle = threading.Condition()
        self.in_flight = 0

    # -- the caller's side: cheap, never blocks --------------------------------------------

    def interaction(self, fields: dict[str, Any]) -> str:
        request_id = fields.get("request_id") or new_id()
        fields["request_id"] = request_id
        if "timestamp" not in fields:
            fields["timestamp"] = now_iso()
        self.put(INTERACTIONS, fields)
        return str(request_id)

    def feedback(self, fields: dict[str, Any]) -> str:
        if not fields.get("request_id"):
            raise ValueError("log_feedback needs the request_id of the interaction it is about")
        # The server keeps one row per feedback_id, so a retried batch never stores twice.
        feedback_id = fields.get("feedback_id") or new_id()
        fields["feedback_id"] = feedback_id
        self.put(FEEDBACK, fields)
        return str(feedback_id)

    def put(self, kind: str, fields: dict[str, Any]) -> bool:
        if self.closed:
            raise RuntimeError("the client is closed")
        with self.lock:
            self.stats.enqueued += 1
            if len(self.buffer) >= self.max_buffer:
                self.stats.dropped += 1
                return False
        self.buffer.append((kind, fields))
        return True

    def full_batch_waiting(self) -> bool:
        return len(self.buffer) >= self.batch_size

    # -- the sender's side --------------------------------------------------------------------

    def take(self) -> tuple[dict[str, list[dict[str, Any]]], list[Marker]]:
        """Up to one batch of rows by endpoint, and the flush markers reached while taking it."""
        rows: dict[str, list[dict[str, Any]]] = {INTERACTIONS: [], FEEDBACK: []}
        markers: list[Marker] = []
        taken = 0
        while taken < self.batch_size:
            try:
                entry = self.buffer.popleft()
            except IndexError:
                break
            if isinstance(entry, Marker):
                markers.append(entry)
                break  # send what came before it, then release the flush
            kind, fields = entry
            rows[kind].append(fields)
            taken += 1
        if taken:
            with self.idle:
                self.in_flight += 1
        return rows, markers

    def batch_done(self) -> None:
        with self.idle:
            self.in_flight -= 1
            self.idle.notify_all()

    def release(self, markers: list[Marker]) -> None:
        """Set flush markers once no sender is still sending rows taken before them."""
        if not markers:
            return
        with self.idle:
            self.idle.wait_for(lambda: self.in_flight == 0)
        for marker in markers:
            marker.done.set()

    def account(self, kind: str, rows: list[dict[str, Any]], status: int, body: Any) -> None:
        """Record the server's answer to a batch that was not retried."""
        with self.lock:
            self._account(kind, rows, status, body)

    def _account(self, kind: str, rows: list[dict[str, Any]], status: int, body: Any) -> None:
        if status in (200, 201, 207) and isinstance(body, dict):
            self.stats.created += int(body.get("created", 0))
            self.stats.duplicates += len(body.get("duplicates", ()))
            errors = body.get("errors", ())
            self.stats.rejected += len(errors)
            for error in errors[:20]:
                logger.warning("feedbackloop refused a row of %s: %s", kind, error)
                if len(self.stats.errors) < 100:
                    self.stats.errors.append({"endpoint": kind, **error})
            return
        self.stats.rejected += len(rows)
        message = body.get("error") if isinstance(body, dict) else body
        logger.warning(
            "feedbackloop refused %d rows of %s (%s): %s", len(rows), kind, status, message
        )
        if len(self.stats.errors) < 100:
            self.stats.errors.append({"endpoint": kind, "status": status, "error": message})

    def judge(
        self,
        kind: str,
        rows: list[dict[str, Any]],
        response: httpx.Response | None,
        error: BaseException | None,
    ) -> Retry | str:
        """`DONE` once the batch is accounted for, `SPLIT` when it was too large, else a Retry."""
        if response is None:
            return Retry(f"{type(error).__name__}: {error}")
        if response.status_code in RETRY_STATUSES:
            return Retry(f"HTTP {response.status_code}", response.headers.get("Retry-After"))
        if response.status_code == 413 and len(rows) > 1:
            return SPLIT
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:500]
        self.account(kind, rows, response.status_code, body)
        return DONE

    def pause_before_retry(
        self, kind: str, rows: list[dict[str, Any]], attempt: int, retry: Retry
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when the rows are given up."""
        if attempt >= self.max_retries:
            with self.lock:
                self.stats.failed += len(rows)
            logger.error("feedbackloop: %d rows of %s not sent: %s", len(rows), kind, retry.reason)
            return None
        with self.lock:
            self.stats.retries += 1
        told = retry_after_seconds(retry.retry_after, self.backoff_max)
        if told is not None:
            return told + random.uniform(0, self.backoff_base)
        return backoff_seconds(attempt, self.backoff_base, self.backoff_max)
