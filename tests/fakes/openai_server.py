"""A scriptable local stand-in for an OpenAI-compatible chat-completions endpoint.

Usage::

    with fake_openai_server() as server:
        server.enqueue_status(429, retry_after=2)
        server.enqueue(content='{"score": 1, "label": "pass", "rationale": "ok"}')
        client = JudgeClient(JudgeConfig(base_url=server.base_url, model="m", api_key="k"))
        ...
        assert server.chat_requests[-1]["messages"][1]["content"] == "..."

Planned replies are consumed one per request, per path; when a path's queue is empty the
default reply is served (a passing verdict for chat completions, the model list for models).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
EMBEDDINGS_PATH = "/v1/embeddings"
EMBEDDING_DIMENSIONS = 64
DEFAULT_MODEL = "fake-judge"
DEFAULT_CONTENT = '{"score": 1.0, "label": "pass", "rationale": "default fake reply"}'

_STATUS_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_denied",
    404: "not_found",
    429: "rate_limit_exceeded",
}


@dataclass(frozen=True)
class PlannedReply:
    status: int = 200
    content: str | None = None
    finish_reason: str = "stop"
    prompt_tokens: int = 10
    completion_tokens: int = 5
    include_usage: bool = True
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    # A raw body replaces the generated one entirely, for replies that are not even JSON.
    raw_body: bytes | None = None
    content_type: str = "application/json"
    error_body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The client hangs up on purpose in the timeout tests; that is not worth a traceback.
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._dispatch(body=None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        self._dispatch(body=body)

    def _dispatch(self, *, body: Any) -> None:
        fake = self.server.fake
        path = self.path.split("?", 1)[0]
        fake._record(
            RecordedRequest(
                method=self.command,
                path=path,
                headers={key.lower(): value for key, value in self.headers.items()},
                body=body,
            )
        )
        known = {("POST", CHAT_PATH), ("GET", MODELS_PATH), ("POST", EMBEDDINGS_PATH)}
        if (self.command, path) not in known:
            self._send_json(404, _error_body(404, f"no route for {self.command} {path}"))
            return

        plan = fake._next_plan(path)
        if plan.delay > 0 and fake._stopping.wait(plan.delay):
            return
        if plan.raw_body is not None:
            self._send(plan.status, plan.raw_body, plan.content_type, plan.headers)
        elif plan.status != 200:
            error = plan.error_body or _error_body(plan.status, f"planned HTTP {plan.status}")
            self._send_json(plan.status, error, plan.headers)
        elif path == MODELS_PATH:
            self._send_json(200, fake._models_body(), plan.headers)
        elif path == EMBEDDINGS_PATH:
            self._send_json(200, fake._embeddings_body(body), plan.headers)
        elif not isinstance(body, dict) or body.get("stream"):
            self._send_json(400, _error_body(400, "expected a non-streaming JSON request body"))
        else:
            self._send_json(200, fake._completion_body(plan, body), plan.headers)

    def _send_json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers or {})

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _error_body(status: int, message: str) -> dict[str, Any]:
    error_type = _STATUS_ERROR_TYPES.get(status, "server_error" if status >= 500 else "error")
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


class FakeOpenAI:
    """An OpenAI-compatible HTTP server on 127.0.0.1 with an ephemeral port."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        default_content: str = DEFAULT_CONTENT,
        models: tuple[str, ...] | None = None,
    ) -> None:
        self.model = model
        self.default_content = default_content
        self.models = models if models is not None else (model,)
        self._lock = threading.Lock()
        self._queues: dict[str, deque[PlannedReply]] = {
            CHAT_PATH: deque(),
            MODELS_PATH: deque(),
            EMBEDDINGS_PATH: deque(),
        }
        self._requests: list[RecordedRequest] = []
        self._counter = 0
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeOpenAI:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake OpenAI server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(
        self,
        content: str,
        *,
        prompt_tokens: int = 10,
        completion_tokens: int = 5,
        finish_reason: str = "stop",
        include_usage: bool = True,
        delay: float = 0.0,
    ) -> None:
        """Plan a successful chat completion whose message content is `content`."""
        self._plan(
            CHAT_PATH,
            PlannedReply(
                content=content,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                finish_reason=finish_reason,
                include_usage=include_usage,
                delay=delay,
            ),
        )

    def enqueue_status(
        self,
        status: int,
        *,
        retry_after: float | str | None = None,
        body: Mapping[str, Any] | None = None,
        path: str = CHAT_PATH,
    ) -> None:
        """Plan an HTTP error reply, with an OpenAI-style error body unless one is given."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self._plan(path, PlannedReply(status=status, headers=headers, error_body=body))

    def enqueue_delay(self, seconds: float, *, content: str | None = None) -> None:
        """Plan a reply that arrives only after `seconds`, to push the client into a timeout."""
        self._plan(CHAT_PATH, PlannedReply(content=content, delay=seconds))

    def enqueue_raw(
        self,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "text/plain",
        path: str = CHAT_PATH,
    ) -> None:
        """Plan a reply with exactly this body, e.g. an HTML page from a misconfigured proxy."""
        self._plan(path, PlannedReply(status=status, raw_body=body, content_type=content_type))

    def pending(self, path: str = CHAT_PATH) -> int:
        with self._lock:
            return len(self._queues[path])

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[Any]:
        """Bodies of every chat-completions request received, oldest first."""
        return [r.body for r in self.requests if r.method == "POST" and r.path == CHAT_PATH]

    def _plan(self, path: str, reply: PlannedReply) -> None:
        if path not in self._queues:
            raise ValueError(f"unknown path {path!r}; expected {CHAT_PATH!r} or {MODELS_PATH!r}")
        with self._lock:
            self._queues[path].append(reply)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_plan(self, path: str) -> PlannedReply:
        with self._lock:
            queue = self._queues[path]
            return queue.popleft() if queue else PlannedReply()

    def _completion_body(self, plan: PlannedReply, request: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._counter += 1
            number = self._counter
        content = plan.content if plan.content is not None else self.default_content
        body: dict[str, Any] = {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(request.get("model") or self.model),
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": plan.finish_reason,
                }
            ],
        }
        if plan.include_usage:
            body["usage"] = {
                "prompt_tokens": plan.prompt_tokens,
                "completion_tokens": plan.completion_tokens,
                "total_tokens": plan.prompt_tokens + plan.completion_tokens,
            }
        return body

    def _embeddings_body(self, request: Any) -> dict[str, Any]:
        """Deterministic vectors: the input's words hashed into EMBEDDING_DIMENSIONS counts, so
        texts sharing words lie close, as real embeddings of similar texts do."""
        import hashlib

        texts = request.get("input") if isinstance(request, dict) else None
        if isinstance(texts, str):
            texts = [texts]
        data = []
        for index, text in enumerate(texts or []):
            vector = [0.0] * EMBEDDING_DIMENSIONS
            for word in str(text).lower().split():
                digest = hashlib.sha256(word.encode()).digest()
                vector[digest[0] % EMBEDDING_DIMENSIONS] += 1.0
            data.append({"object": "embedding", "index": index, "embedding": vector})
        return {
            "object": "list",
            "data": data,
            "model": request.get("model", self.model) if isinstance(request, dict) else self.model,
            "usage": {"prompt_tokens": len(data), "total_tokens": len(data)},
        }

    def _models_body(self) -> dict[str, Any]:
        created = int(time.time())
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": created, "owned_by": "feedbackloop"}
                for name in self.models
            ],
        }


@contextmanager
def fake_openai_server(
    *,
    model: str = DEFAULT_MODEL,
    default_content: str = DEFAULT_CONTENT,
    models: tuple[str, ...] | None = None,
) -> Iterator[FakeOpenAI]:
    """Run a FakeOpenAI for the duration of the block; wrap it in a fixture to share it."""
    server = FakeOpenAI(model=model, default_content=default_content, models=models)
    with server:
        yield server
