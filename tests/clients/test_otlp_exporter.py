"""The real OpenTelemetry SDK's OTLP/HTTP exporter, pointed at the live server (gunicorn)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Tracer

from annotation.models import Interaction, Project
from annotation.services.projects import project_create
from tests.clients.conftest import LiveServer

# gunicorn shares the test database through PostgreSQL.
pytestmark = pytest.mark.postgresql


@pytest.fixture
def keyed(transactional_db: Any) -> Any:
    return project_create(name="otel-bot")


@contextmanager
def _tracer(server: LiveServer, key: str, compression: Compression) -> Iterator[Tracer]:
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/api/v1/otlp/v1/traces",
        headers={"Authorization": f"Bearer {key}"},
        compression=compression,
        timeout=10,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "support-api"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("tests")
    finally:
        provider.shutdown()


def _send_spans(tracer: Tracer) -> dict[str, str]:
    """A GenAI span in today's conventions, one in OpenLLMetry's, and a plain HTTP span."""
    with tracer.start_as_current_span("chat gpt-x") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-x")
        span.set_attribute("gen_ai.response.model", "gpt-x-2026-10-01")
        span.set_attribute("gen_ai.usage.input_tokens", 31)
        span.set_attribute("gen_ai.usage.output_tokens", 7)
        span.set_attribute("user.id", "u-42")
        span.set_attribute(
            "gen_ai.input.messages",
            json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Where is my invoice?"}]}]
            ),
        )
        span.set_attribute(
            "gen_ai.output.messages",
            json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "Under Billing."}],
                        "finish_reason": "stop",
                    }
                ]
            ),
        )
        ids = {
            "genai": format(span.get_span_context().span_id, "016x"),
            "trace": format(span.get_span_context().trace_id, "032x"),
        }
    with tracer.start_as_current_span("openai.chat") as span:
        span.set_attribute("gen_ai.system", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-y")
        span.set_attribute("gen_ai.prompt.0.role", "system")
        span.set_attribute("gen_ai.prompt.0.content", "Be brief.")
        span.set_attribute("gen_ai.prompt.1.role", "user")
        span.set_attribute("gen_ai.prompt.1.content", "Hi")
        span.set_attribute("gen_ai.completion.0.role", "assistant")
        span.set_attribute("gen_ai.completion.0.content", "Hello!")
        span.set_attribute("gen_ai.usage.prompt_tokens", 5)
        span.set_attribute("gen_ai.usage.completion_tokens", 2)
        ids["openllmetry"] = format(span.get_span_context().span_id, "016x")
    with tracer.start_as_current_span("GET /health"):
        pass
    return ids


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_genai_spans_from_the_sdk_exporter_become_interactions(
    gunicorn_server: LiveServer, keyed: Any, compression: Compression
) -> None:
    with _tracer(gunicorn_server, keyed.secret, compression) as tracer:
        ids = _send_spans(tracer)

    stored = {i.request_id: i for i in Interaction.objects.all()}
    assert set(stored) == {ids["genai"], ids["openllmetry"]}
    chat = stored[ids["genai"]]
    assert chat.messages == [{"role": "user", "content": "Where is my invoice?"}]
    assert chat.response == "Under Billing."
    assert (chat.model, chat.model_version) == ("gpt-x", "gpt-x-2026-10-01")
    assert (chat.tokens_in, chat.tokens_out) == (31, 7)
    assert chat.latency_ms is not None and chat.latency_ms >= 0
    assert chat.metadata["trace_id"] == ids["trace"]
    assert chat.metadata["span_id"] == ids["genai"]
    assert chat.metadata["service_name"] == "support-api"
    assert chat.user_id and chat.user_id != "u-42"
    indexed = stored[ids["openllmetry"]]
    assert indexed.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert indexed.response == "Hello!"
    assert (indexed.tokens_in, indexed.tokens_out) == (5, 2)


def test_a_project_can_take_request_ids_from_a_span_attribute(
    gunicorn_server: LiveServer, keyed: Any
) -> None:
    Project.objects.filter(name="otel-bot").update(otlp_request_id_attribute="app.request_id")
    with _tracer(gunicorn_server, keyed.secret, Compression.NoCompression) as tracer:
        for _ in range(2):  # the same request twice: stored once
            with tracer.start_as_current_span("chat") as span:
                span.set_attribute("app.request_id", "req-123")
                span.set_attribute("gen_ai.prompt.0.content", "Hi")
                span.set_attribute("gen_ai.completion.0.content", "Hello")

    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["req-123"]
