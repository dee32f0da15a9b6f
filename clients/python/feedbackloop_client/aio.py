"""The asyncio client: the same buffer and rules as `Client`, sent by a task on the running loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx

from feedbackloop_client._core import FEEDBACK, INTERACTIONS, SPLIT, Core, Retry, Stats


class AsyncClient:
    """`log_*` are plain (non-async) calls that never block the event loop; `await flush()` and
    `await aclose()` (or `async with`) send what is buffered. A sender task starts on the running
    loop at the first `log_*` call."""

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = Core(
            max_buffer=max_buffer,
            batch_size=batch_size,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )
        self._flush_interval = flush_interval
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/api/v1/",
            headers={"Authorization": f"Bearer {key}", "User-Agent": "feedbackloop-client/0.1"},
            timeout=timeout,
            transport=transport,
        )
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def stats(self) -> Stats:
        return self._core.stats

    def log_interaction(self, **fields: Any) -> str:
        request_id = self._core.interaction(fields)
        self._nudge()
        return request_id

    def log_feedback(self, **fields: Any) -> str:
        feedback_id = self._core.feedback(fields)
        self._nudge()
        return feedback_id

    async def flush(self) -> None:
        """Send everything buffered now, retrying as configured."""
        await self._drain()

    async def aclose(self) -> None:
        if self._core.closed:
            return
        await self._drain()
        self._core.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def trace_openai(self, openai_client: Any, **fields: Any) -> Any:
        """A stand-in for an `openai.AsyncOpenAI` whose chat completions are also logged here."""
        from feedbackloop_client.openai import TracedAsyncOpenAI

        return TracedAsyncOpenAI(openai_client, self, fields)

    # -- the sender task ----------------------------------------------------------------------

    def _nudge(self) -> None:
        if self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop yet: the rows wait for flush() or the first call inside one
            self._wake = asyncio.Event()
            self._lock = asyncio.Lock()
            self._task = loop.create_task(self._run(), name="feedbackloop-sender")
        if self._wake is not None and self._core.full_batch_waiting():
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_interval)
            self._wake.clear()
            await self._drain()

    async def _drain(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                rows, markers = self._core.take()
                if rows[INTERACTIONS] or rows[FEEDBACK]:
                    try:
                        for kind in (INTERACTIONS, FEEDBACK):
                            if rows[kind]:
                                await self._send(kind, rows[kind])
                    finally:
                        self._core.batch_done()
                self._core.release(markers)  # one sender: nothing else is in flight
                if not rows[INTERACTIONS] and not rows[FEEDBACK] and not markers:
                    return

    async def _send(self, kind: str, rows: list[dict[str, Any]]) -> None:
        core = self._core
        attempt = 0
        while True:
            core.stats.requests += 1
            response, error = None, None
            try:
                response = await self._http.post(kind, json={"items": rows})
            except httpx.HTTPError as exc:
                error = exc
            verdict = core.judge(kind, rows, response, error)
            if verdict == SPLIT:
                half = len(rows) // 2
                await self._send(kind, rows[:half])
                await self._send(kind, rows[half:])
                return
            if not isinstance(verdict, Retry):
                return
            pause = core.pause_before_retry(kind, rows, attempt, verdict)
            if pause is None:
                return
            attempt += 1
            await asyncio.sleep(pause)
