"""OTLP/HTTP trace bodies (protobuf or JSON, optionally gzip) into `ExportTraceServiceRequest`.

Decoded with the official `opentelemetry-proto` messages. OTLP's JSON encoding differs from
protobuf's canonical JSON in one way that matters: trace and span ids are hex, not base64, so
they are converted before parsing. The protobuf runtime and the messages load with the first
body parsed, so a web process that never receives OTLP never holds them.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_JSON_DEPTH = 64


class OtlpError(Exception):
    """A body that cannot be read; `status` is the HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def gunzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body, refusing to produce more than `limit` bytes (no zip bombs)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpError("invalid_gzip", f"The body is not valid gzip: {exc}.") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise OtlpError(
            "too_large",
            f"The body inflates to more than {limit} bytes; export smaller batches.",
            status=413,
        )
    if not inflater.eof:
        raise OtlpError("invalid_gzip", "The gzip body is truncated.")
    return out


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _hex_ids_to_base64(request: dict[str, Any]) -> None:
    for resource_spans in request.get("resourceSpans") or []:
        for scope_spans in (resource_spans or {}).get("scopeSpans") or []:
            for span in (scope_spans or {}).get("spans") or []:
                for holder in [span, *((span or {}).get("links") or [])]:
                    if not isinstance(holder, dict):
                        continue
                    for key in ("traceId", "spanId", "parentSpanId"):
                        value = holder.get(key)
                        if isinstance(value, str) and value:
                            try:
                                raw = binascii.unhexlify(value)
                            except (binascii.Error, ValueError):
                                raise OtlpError(
                                    "invalid_otlp", f"`{key}` must be hex in OTLP JSON: {value!r}."
                                ) from None
                            holder[key] = base64.b64encode(raw).decode()


def parse(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError):
            raise OtlpError(
                "invalid_otlp", "The body is not an OTLP ExportTraceServiceRequest in protobuf."
            ) from None
        return request
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise OtlpError("invalid_json", "The body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise OtlpError("invalid_otlp", 'Send an object: {"resourceSpans": [...]}.')
    if _depth(document, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise OtlpError("too_deep", f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    try:
        json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise OtlpError(
            "invalid_text",
            "The JSON holds a lone surrogate (\\ud800-\\udfff); send valid UTF-16 pairs.",
        ) from None
    _hex_ids_to_base64(document)
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OtlpError("invalid_otlp", f"Not an OTLP trace request: {exc}.") from None
    return request


def answer(content_type: str, rejected: int, message: str) -> bytes:
    """The OTLP answer: an ExportTraceServiceResponse, partial success when something was left."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if content_type == PROTOBUF:
        return bytes(response.SerializeToString())
    return json_format.MessageToJson(response, indent=None).encode()
