"""Record OpenAI-style chat completions as interactions, without changing what the caller gets.

    fb = Client(url, key)
    openai_client = fb.trace_openai(OpenAI(), prompt_template="support_answer")
    answer = openai_client.chat.completions.create(model="gpt-x", messages=[...])
    fb.log_feedback(request_id=answer.id, kind="rating", value=1, scale="thumbs")

Works with the `openai` package's clients and with anything shaped like them (a response object
or a plain dict). Streaming calls (`stream=True`) are passed through unrecorded.
"""

from __future__ import annotations

import time
from typing import Any, Protocol


class _Logs(Protocol):
    def log_interaction(self, **fields: Any) -> str: ...


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def chat_interaction(
    request: dict[str, Any], response: Any, latency_ms: float, **fields: Any
) -> dict[str, Any]:
    """The interaction fields of one chat completion: its messages, answer, model, tokens, latency."""
    choices = _get(response, "choices") or []
    message = _get(choices[0], "message") if choices else None
    content = _get(message, "content") if message is not None else None
    usage = _get(response, "usage")
    record: dict[str, Any] = {
        "messages": [
            {"role": str(_get(m, "role")), "content": str(_get(m, "content") or "")}
            for m in request.get("messages", [])
        ],
        "response": content or "",
        "model": _get(response, "model") or request.get("model"),
        "latency_ms": round(latency_ms),
    }
    if _get(response, "id"):
        record["request_id"] = str(_get(response, "id"))
    if usage is not None:
        record["tokens_in"] = _get(usage, "prompt_tokens")
        record["tokens_out"] = _get(usage, "completion_tokens")
    finish = _get(choices[0], "finish_reason") if choices else None
    metadata = dict(fields.pop("metadata", None) or {})
    if finish:
        metadata.setdefault("finish_reason", finish)
    if metadata:
        record["metadata"] = metadata
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


class _Completions:
    def __init__(self, completions: Any, logs: _Logs, fields: dict[str, Any]) -> None:
        self._completions = completions
        self._logs = logs
        self._fields = fields

    def create(self, *, feedbackloop: dict[str, Any] | None = None, **request: Any) -> Any:
        """Call the wrapped client; log the call unless it streams. `feedbackloop=` adds fields."""
        started = time.perf_counter()
        response = self._completions.create(**request)
        if not request.get("stream"):
            latency = (time.perf_counter() - started) * 1000
            extra = {**self._fields, **(feedbackloop or {})}
            self._logs.log_interaction(**chat_interaction(request, response, latency, **extra))
        return response


class _AsyncCompletions(_Completions):
    async def create(self, *, feedbackloop: dict[str, Any] | None = None, **request: Any) -> Any:
        started = time.perf_counter()
        response = await self._completions.create(**request)
        if not request.get("stream"):
            latency = (time.perf_counter() - started) * 1000
            extra = {**self._fields, **(feedbackloop or {})}
            self._logs.log_interaction(**chat_interaction(request, response, latency, **extra))
        return response


class _Namespace:
    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


class TracedOpenAI:
    """Delegates everything to the wrapped client; `chat.completions.create` is also recorded."""

    _completions_type: type[_Completions] = _Completions

    def __init__(self, client: Any, logs: _Logs, fields: dict[str, Any]) -> None:
        self._client = client
        completions = self._completions_type(client.chat.completions, logs, fields)
        self.chat = _Namespace(completions=completions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class TracedAsyncOpenAI(TracedOpenAI):
    _completions_type = _AsyncCompletions
