"""The thread-backed client: `log_*` append to a bounded buffer; a daemon thread sends batches."""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable
from typing import Any

import httpx

from feedbackloop_client._core import FEEDBACK, INTERACTIONS, SPLIT, Core, Marker, Retry, Stats


def _close_at_exit(ref: weakref.ReferenceType[Client]) -> Callable[[], None]:
    def close() -> None:
        client = ref()
        if client is not None:
            client.close(timeout=5.0)

    return close


class Client:
    """Sends interactions and feedback to feedbackloop without ever blocking the caller.

    `log_interaction(**fields)` and `log_feedback(**fields)` take the fields of the ingestion API
    and return the row's id (a `request_id` / `feedback_id` is generated when left out, so a
    retried batch is stored once). When the buffer is full new rows are dropped and counted in
    `stats.dropped`. Batches go out every `flush_interval` seconds or as soon as `batch_size`
    rows wait, over `senders` connections; 429, 5xx and network errors are retried with exponential backoff and full jitter,
    honouring `Retry-After`. `flush()` waits until everything logged so far was sent; `close()`
    (also run at interpreter exit) flushes and stops the thread.
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_buffer: int = 100_000,
        max_retries: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 10.0,
        senders: int = 1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = Core(
            max_buffer=max_buffer,
            batch_size=batch_size,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )
        self._flush_interval = flush_interval
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1/",
            headers={"Authorization": f"Bearer {key}", "User-Agent": "feedbackloop-client/0.1"},
            timeout=timeout,
            transport=transport,
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        if senders < 1:
            raise ValueError("senders must be at least 1")
        self._threads = [
            threading.Thread(target=self._run, name=f"feedbackloop-sender-{n}", daemon=True)
            for n in range(senders)
        ]
        for thread in self._threads:
            thread.start()
        # A weak reference, so registering for exit does not keep the client alive.
        self._atexit = _close_at_exit(weakref.ref(self))
        atexit.register(self._atexit)

    @property
    def stats(self) -> Stats:
        return self._core.stats

    def log_interaction(self, **fields: Any) -> str:
        """Queue one interaction; returns its request_id. Never blocks, never raises on I/O."""
        request_id = self._core.interaction(fields)
        if self._core.full_batch_waiting():
            self._wake.set()
        return request_id

    def log_feedback(self, **fields: Any) -> str:
        """Queue one piece of feedback (needs `request_id`); returns its feedback_id."""
        feedback_id = self._core.feedback(fields)
        if self._core.full_batch_waiting():
            self._wake.set()
        return feedback_id

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged before this call was sent (or given up); False on timeout."""
        if not any(thread.is_alive() for thread in self._threads):
            return not self._core.buffer
        marker = Marker()
        self._core.buffer.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush, stop the sender and release the connection pool."""
        if self._core.closed:
            return
        self.flush(timeout)
        self._core.closed = True
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._http.close()
        atexit.unregister(self._atexit)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def trace_openai(self, openai_client: Any, **fields: Any) -> Any:
        """A stand-in for an OpenAI client whose chat completions are also logged here."""
        from feedbackloop_client.openai import TracedOpenAI

        return TracedOpenAI(openai_client, self, fields)

    # -- the sender thread ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            self._drain()
        self._drain()

    def _drain(self) -> None:
        while True:
            rows, markers = self._core.take()
            if rows[INTERACTIONS] or rows[FEEDBACK]:
                try:
                    # Interactions first, so feedback in the same batch finds them.
                    for kind in (INTERACTIONS, FEEDBACK):
                        if rows[kind]:
                            self._send(kind, rows[kind])
                finally:
                    self._core.batch_done()
            self._core.release(markers)
            if not rows[INTERACTIONS] and not rows[FEEDBACK] and not markers:
                return

    def _send(self, kind: str, rows: list[dict[str, Any]]) -> None:
        core = self._core
        attempt = 0
        while True:
            core.stats.requests += 1
            response, error = None, None
            try:
                response = self._http.post(kind, json={"items": rows})
            except httpx.HTTPError as exc:  # timeouts, refused connections, broken pipes
                error = exc
            verdict = core.judge(kind, rows, response, error)
            if verdict == SPLIT:
                half = len(rows) // 2
                self._send(kind, rows[:half])
                self._send(kind, rows[half:])
                return
            if not isinstance(verdict, Retry):
                return
            if self._stop.is_set():
                attempt = core.max_retries  # closing past its timeout: give up, do not wait
            pause = core.pause_before_retry(kind, rows, attempt, verdict)
            if pause is None:
                return
            attempt += 1
            self._stop.wait(pause)  # close() cuts the wait short
