"""OpenTelemetry GenAI spans as interactions.

Reads the GenAI semantic conventions (`gen_ai.request.model`, `gen_ai.usage.*`, messages in
`gen_ai.input.messages` / `gen_ai.output.messages` attributes or in `gen_ai.*.message` and
`gen_ai.choice` events) and OpenLLMetry's indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*`
attributes. A span with no `gen_ai.` or `llm.` attribute is not a GenAI span and is ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

ROLES = {"system", "user", "assistant", "tool"}
_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d{1,4})\.(role|content)$")
_MAX_VALUE_DEPTH = 16


@dataclass
class Converted:
    """What one request's spans became: interaction fields, and why others were left out."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    rejects: list[tuple[int, str]] = field(default_factory=list)
    ignored: int = 0
    spans: int = 0


def any_value(value: AnyValue, depth: int = 0) -> Any:
    kind = value.WhichOneof("value")
    if kind is None or depth > _MAX_VALUE_DEPTH:
        return None
    if kind == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values, depth + 1)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(pairs: Sequence[KeyValue], depth: int = 0) -> dict[str, Any]:
    return {pair.key: any_value(pair.value, depth) for pair in pairs}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a structured message."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return _text(content.get("content") or content.get("text") or content.get("parts"))
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type", "text") == "text":
                texts.append(_text(part.get("content") or part.get("text")))
            elif isinstance(part, str):
                texts.append(part)
        return "".join(texts)
    return ""


def _messages(value: Any) -> list[dict[str, str]]:
    out = []
    for message in _json(value) or []:
        if isinstance(message, Mapping) and message.get("role") in ROLES:
            out.append({"role": str(message["role"]), "content": _text(message)})
    return out


def _indexed(attrs: Mapping[str, Any], kind: str) -> list[dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for key, value in attrs.items():
        match = _INDEXED.match(key)
        if match and match.group(1) == kind:
            found.setdefault(int(match.group(2)), {})[match.group(3)] = _text(value)
    return [
        {
            "role": entry.get("role") or ("assistant" if kind == "completion" else "user"),
            "content": entry.get("content", ""),
        }
        for _, entry in sorted(found.items())
    ]


def _from_events(span: Span) -> tuple[list[dict[str, str]], str | None, dict[str, Any]]:
    messages: list[dict[str, str]] = []
    response: str | None = None
    extra: dict[str, Any] = {}
    for event in span.events:
        attrs = attributes(event.attributes)
        if event.name in _EVENT_ROLES:
            messages.append({"role": _EVENT_ROLES[event.name], "content": _text(attrs)})
        elif event.name == "gen_ai.choice":
            message = _json(attrs.get("message")) or attrs
            response = _text(message)
        else:
            # Newer conventions may carry the messages on an event instead of the span.
            for key in (
                "gen_ai.input.messages",
                "gen_ai.output.messages",
                "gen_ai.system_instructions",
            ):
                if key in attrs:
                    extra[key] = attrs[key]
    return messages, response, extra


def _is_genai(attrs: Mapping[str, Any], span: Span) -> bool:
    if any(key.startswith(("gen_ai.", "llm.")) for key in attrs):
        return True
    return any(event.name.startswith("gen_ai.") for event in span.events)


def _first(attrs: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None


def _time(unix_nano: int) -> datetime | None:
    if not unix_nano:
        return None
    try:
        return datetime.fromtimestamp(unix_nano / 1e9, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def span_interaction(
    span: Span, resource: Mapping[str, Any], request_id_attribute: str = ""
) -> dict[str, Any] | str:
    """The interaction fields of one GenAI span, or why it cannot be one."""
    attrs = attributes(span.attributes)
    event_messages, event_response, event_attrs = _from_events(span)
    attrs = {**event_attrs, **attrs}
    span_id = span.span_id.hex()

    messages: list[dict[str, str]] = []
    system = attrs.get("gen_ai.system_instructions")
    if system:
        # An array of parts (as JSON text or a value), or plain text.
        parts = _json(system) if isinstance(system, str) else system
        messages.append({"role": "system", "content": _text(parts if parts else system)})
    messages += _messages(attrs.get("gen_ai.input.messages")) or _indexed(attrs, "prompt")
    messages = messages or event_messages
    output = _messages(attrs.get("gen_ai.output.messages")) or _indexed(attrs, "completion")
    response = output[0]["content"] if output else event_response
    if not messages:
        return (
            f"span {span_id} has no input messages: send gen_ai.input.messages, "
            "gen_ai.prompt.N.* attributes or gen_ai.*.message events"
        )
    if response is None:
        return (
            f"span {span_id} has no output message: send gen_ai.output.messages, "
            "gen_ai.completion.N.* attributes or a gen_ai.choice event"
        )

    request_id = span_id
    if request_id_attribute and attrs.get(request_id_attribute) not in (None, ""):
        request_id = str(attrs[request_id_attribute])
    request_model = _first(attrs, "gen_ai.request.model", "llm.request.model")
    response_model = _first(attrs, "gen_ai.response.model", "llm.response.model")
    metadata: dict[str, Any] = {
        "trace_id": span.trace_id.hex(),
        "span_id": span_id,
        "span_name": span.name,
    }
    for key, name in [
        ("gen_ai.system", "gen_ai_system"),
        ("gen_ai.provider.name", "gen_ai_provider"),
        ("gen_ai.operation.name", "gen_ai_operation"),
        ("gen_ai.response.finish_reasons", "finish_reasons"),
        ("gen_ai.response.id", "gen_ai_response_id"),
    ]:
        if attrs.get(key) not in (None, ""):
            metadata[name] = attrs[key]
    if resource.get("service.name"):
        metadata["service_name"] = resource["service.name"]

    fields: dict[str, Any] = {
        "request_id": request_id,
        "messages": messages,
        "response": response,
        "timestamp": _time(span.start_time_unix_nano),
        "model": str(request_model or response_model or ""),
        "model_version": str(response_model or "") if response_model != request_model else "",
        "tokens_in": _first(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "tokens_out": _first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        "user_id": str(_first(attrs, "user.id", "enduser.id") or ""),
        "session_id": str(_first(attrs, "session.id", "gen_ai.conversation.id") or ""),
        "metadata": metadata,
    }
    if span.end_time_unix_nano >= span.start_time_unix_nano > 0:
        fields["latency_ms"] = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
    return {key: value for key, value in fields.items() if value is not None}


def _spans(request: ExportTraceServiceRequest) -> Iterator[tuple[Span, dict[str, Any]]]:
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield span, resource


def convert(request: ExportTraceServiceRequest, request_id_attribute: str = "") -> Converted:
    """Every span of the request: GenAI spans as interaction fields, the rest counted."""
    converted = Converted()
    for index, (span, resource) in enumerate(_spans(request)):
        converted.spans += 1
        if not _is_genai(attributes(span.attributes), span):
            converted.ignored += 1
            continue
        fields = span_interaction(span, resource, request_id_attribute)
        if isinstance(fields, str):
            converted.rejects.append((index, fields))
        else:
            converted.rows.append((index, fields))
    return converted
