"""POST /api/v1/otlp/v1/traces: OTLP JSON and protobuf, partial success, and bad bodies."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from rest_framework.test import APIClient

from annotation.models import Interaction

URL = "/api/v1/otlp/v1/traces"
TRACE_ID = "5b8efff798038103d269b633813fc60c"


def _span(span_id: str, attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        return {"stringValue": v}

    return {
        "traceId": TRACE_ID,
        "spanId": span_id,
        "name": "chat",
        "kind": 3,
        "startTimeUnixNano": "1795000000000000000",
        "endTimeUnixNano": "1795000000840000000",
        "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()],
        **extra,
    }


def _request(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]
                },
                "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}],
            }
        ]
    }


CHAT = {
    "gen_ai.request.model": "gpt-x",
    "gen_ai.prompt.0.role": "user",
    "gen_ai.prompt.0.content": "Hi",
    "gen_ai.completion.0.content": "Hello",
}


def _post(client: APIClient, body: bytes, content_type: str, **headers: str) -> Any:
    return client.generic("POST", URL, body, content_type=content_type, **headers)


def test_otlp_json_spans_become_interactions_with_their_ids(ingest_client: APIClient) -> None:
    body = json.dumps(_request(_span("eee19b7ec3c1b174", CHAT))).encode()

    response = _post(ingest_client, body, "application/json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    stored = Interaction.objects.get()
    assert stored.request_id == "eee19b7ec3c1b174"
    assert stored.metadata["trace_id"] == TRACE_ID
    assert stored.latency_ms == pytest.approx(840.0)
    assert stored.timestamp.year == 2026


def test_it_reports_rejected_and_ignored_spans_as_partial_success(
    ingest_client: APIClient,
) -> None:
    no_output = {k: v for k, v in CHAT.items() if "completion" not in k}
    body = json.dumps(
        _request(
            _span("0000000000000001", CHAT),
            _span("0000000000000002", no_output),
            _span("0000000000000003", {"http.route": "/health"}),
        )
    ).encode()

    response = _post(ingest_client, body, "application/json")

    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "span 0000000000000002 has no output message" in partial["errorMessage"]
    assert "1 spans without gen_ai attributes ignored" in partial["errorMessage"]
    assert response["X-Feedbackloop-Ignored-Spans"] == "1"
    assert response["X-Feedbackloop-Created"] == "1"


def test_protobuf_in_gzip_gets_a_protobuf_answer(ingest_client: APIClient) -> None:
    from google.protobuf import json_format

    document = _request(_span("00000000000000aa", CHAT))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = ""
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = ""
    message = json_format.ParseDict(document, ExportTraceServiceRequest())
    message.resource_spans[0].scope_spans[0].spans[0].span_id = bytes.fromhex("00000000000000aa")
    body = gzip.compress(message.SerializeToString())

    response = _post(ingest_client, body, "application/x-protobuf", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 0
    assert Interaction.objects.get().request_id == "00000000000000aa"


def test_a_span_failing_validation_is_rejected_by_field(ingest_client: APIClient) -> None:
    bad_role = {**CHAT, "gen_ai.prompt.0.role": "robot"}
    body = json.dumps(_request(_span("0000000000000009", bad_role))).encode()

    response = _post(ingest_client, body, "application/json")

    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "status", "code"),
    [
        (b"{}", "text/plain", {}, 415, "unsupported_media_type"),
        (b"{}", "application/json", {"HTTP_CONTENT_ENCODING": "br"}, 415, "unsupported_encoding"),
        (b"\xff\xfe not protobuf", "application/x-protobuf", {}, 400, "invalid_otlp"),
        (b"{not json", "application/json", {}, 400, "invalid_json"),
        (b"[]", "application/json", {}, 400, "invalid_otlp"),
        (b"not gzip", "application/json", {"HTTP_CONTENT_ENCODING": "gzip"}, 400, "invalid_gzip"),
        (
            json.dumps(_request({**_span("zz", CHAT)})).encode(),
            "application/json",
            {},
            400,
            "invalid_otlp",
        ),
        (b'{"resourceSpans": "\\ud800"}', "application/json", {}, 400, "invalid_text"),
        (
            b'{"resourceSpans": ' + b"[" * 200 + b"]" * 200 + b"}",
            "application/json",
            {},
            400,
            "too_deep",
        ),
    ],
)
def test_bad_bodies_get_a_specific_4xx(
    ingest_client: APIClient,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = _post(ingest_client, body, content_type, **headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_gzip_bomb_is_refused_as_too_large(ingest_client: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    body = gzip.compress(b" " * 1_000_000)

    response = _post(ingest_client, body, "application/json", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_it_needs_the_project_key(db: Any) -> None:
    response = _post(APIClient(), b"{}", "application/json")

    assert response.status_code == 401
