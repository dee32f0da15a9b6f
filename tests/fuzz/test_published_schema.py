"""What the published schema declares about credentials and errors, and that the fuzzer bites."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.response import Response

from annotation.api.queues import QueueStatsView
from tests.fuzz.conftest import World
from tests.fuzz.harness import fuzz, published_schema

INGESTION = {("post", "/api/v1/interactions"), ("post", "/api/v1/feedback")}
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def test_it_fuzzes_the_schema_the_api_serves(db: Any) -> None:
    response = Client().get("/api/schema/?format=json")

    assert response.status_code == 200
    assert response.json() == published_schema()


def test_it_declares_the_token_and_bearer_schemes() -> None:
    schemes = published_schema()["components"]["securitySchemes"]

    assert schemes["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["Token"]["description"],
    }
    assert "Token <token>" in schemes["Token"]["description"]
    assert schemes["Bearer"]["type"] == "http"
    assert schemes["Bearer"]["scheme"] == "bearer"
    assert schemes["WidgetKey"]["scheme"] == "bearer"


def test_ingestion_takes_a_project_key_and_everything_else_a_token_or_the_session() -> None:
    for method, path, operation in _operations(published_schema()):
        schemes = {name for requirement in operation["security"] for name in requirement}
        if (method, path) in INGESTION or path.startswith("/api/v1/otlp/"):
            assert schemes == {"Bearer"}, (method, path)
        elif path == "/api/v1/interactions/{request_id}":
            assert schemes == {"Bearer", "Token", "cookieAuth"}
        elif path.startswith("/api/v1/widget/"):
            assert schemes == {"WidgetKey"}, (method, path)
        elif path == "/api/v1/exports/{export_id}/link":
            assert schemes == set()  # the signed token in the link is the permission
        else:
            assert schemes == {"Token", "cookieAuth"}, (method, path)


def test_every_operation_declares_its_error_answers_with_the_envelope() -> None:
    for method, path, operation in _operations(published_schema()):
        responses = operation["responses"]
        assert "401" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == ENVELOPE, (method, path, status)


def test_the_fuzzer_reports_a_server_error(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, request: Any, queue_id: int) -> Response:
        raise ZeroDivisionError("stats divided by zero")

    monkeypatch.setattr(QueueStatsView, "get", broken)

    findings = fuzz(
        "GET /api/v1/queues/{queue_id}/stats",
        role="lead",
        headers=world.headers["lead"],
        path_ids=world.path_ids,
        examples=5,
    )

    assert {finding.status for finding in findings} == {500}
    assert all("ZeroDivisionError: stats divided by zero" in f.server_error for f in findings)
    assert all("/api/v1/queues/" in finding.request for finding in findings)


def test_the_fuzzer_reports_an_answer_the_schema_does_not_declare(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def teapot(self: Any, request: Any, queue_id: int) -> Response:
        return Response({"tea": True}, status=418)

    monkeypatch.setattr(QueueStatsView, "get", teapot)

    findings = fuzz(
        "GET /api/v1/queues/{queue_id}/stats",
        role="lead",
        headers=world.headers["lead"],
        path_ids=world.path_ids,
        examples=5,
    )

    assert {finding.status for finding in findings} == {418}
    assert any("Undocumented status code" in finding.failure for finding in findings)


def test_every_set_of_values_is_named_after_what_it_is() -> None:
    components = published_schema()["components"]["schemas"]

    assert components["QueueStateEnum"]["enum"] == ["active", "paused", "archived"]
    assert "needs_adjudication" in components["ItemStateEnum"]["enum"]
    # drf-spectacular falls back to a hash suffix (StateC79Enum) when two enums collide.
    assert not [name for name in components if re.search(r"[0-9A-F]{3}Enum$", name)]
