"""The feedback widget's endpoints: public keys that write feedback only, from allowed origins."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotation.models import Feedback, KeyScope, Project
from annotation.origins import origin_normalise
from annotation.services.widget import widget_key_create
from tests.conftest import KeyedProject
from tests.factories import InteractionFactory

APP = "https://app.example.com"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture
def widget_key(project: Project) -> str:
    return widget_key_create(project=project, origins=[APP]).secret


@pytest.fixture
def widget(widget_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {widget_key}", HTTP_ORIGIN=APP)
    return client


def _feedback(client: APIClient, body: Any, **headers: str) -> Any:
    return client.post("/api/v1/widget/feedback", body, format="json", **headers)


def test_a_widget_key_writes_feedback_linked_to_its_interaction(
    project: Project, widget: APIClient
) -> None:
    interaction = InteractionFactory(project=project, request_id="req-1")

    response = _feedback(
        widget, {"request_id": "req-1", "kind": "rating", "value": 0, "scale": "thumbs"}
    )

    assert response.status_code == 201
    assert response.json() == {"created": 1}
    stored = Feedback.objects.get()
    assert stored.interaction_id == interaction.pk
    assert stored.normalized_score == 0.0
    assert stored.source == "user"


def test_the_same_feedback_id_is_stored_once(project: Project, widget: APIClient) -> None:
    body = {"request_id": "req-1", "kind": "comment", "text": "Wrong", "feedback_id": "f-1"}

    assert _feedback(widget, body).status_code == 201
    assert _feedback(widget, body).status_code == 200
    assert Feedback.objects.count() == 1


def test_it_serves_the_projects_reasons(widget: APIClient) -> None:
    response = widget.get("/api/v1/widget/config")

    assert response.status_code == 200
    assert {"name": "off_topic", "label": "Off topic"} in response.json()["reasons"]


@pytest.mark.parametrize("origin", ["https://evil.example.com", "http://app.example.com", None])
def test_other_origins_are_refused(widget_key: str, origin: str | None) -> None:
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {widget_key}"}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    body = {"request_id": "req-1", "kind": "comment", "text": "Hi"}

    response = client.post("/api/v1/widget/feedback", body, format="json", **headers)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert client.get("/api/v1/widget/config", **headers).status_code == 403
    assert Feedback.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/interactions"),
        ("post", "/api/v1/feedback"),
        ("get", "/api/v1/interactions/req-1"),
        ("post", "/api/v1/otlp/v1/traces"),
    ],
)
def test_a_widget_key_reads_and_ingests_nothing_else(
    project: Project, widget: APIClient, method: str, path: str
) -> None:
    InteractionFactory(project=project, request_id="req-1")

    response = getattr(widget, method)(path, {}, format="json")

    assert response.status_code == 401
    assert "public widget key" in response.json()["error"]["message"]


def test_reading_feedback_back_is_not_allowed(widget: APIClient) -> None:
    assert widget.get("/api/v1/widget/feedback").status_code == 405


def test_an_ingestion_key_is_not_a_widget_key(keyed_project: KeyedProject) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed_project.key}", HTTP_ORIGIN=APP)

    response = _feedback(client, {"request_id": "r", "kind": "comment", "text": "x"})

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"request_id": "r", "kind": "comment", "text": "x" * 5001}, "text"),
        ({"request_id": "r", "kind": "correction", "text": "x" * 5001}, "text"),
        ({"request_id": "r", "kind": "rating", "value": 2, "scale": "stars5"}, "scale"),
        ({"request_id": "r", "kind": "implicit", "event": "dwell", "value": 3}, "event"),
        ({"request_id": "r", "kind": "label", "labels": ["no_such_reason"]}, "labels[0]"),
        ({"request_id": "r", "kind": "rating", "value": 7, "scale": "thumbs"}, "value"),
    ],
)
def test_bad_feedback_names_its_field(widget: APIClient, body: Any, field: str) -> None:
    response = _feedback(widget, body)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field
    assert Feedback.objects.count() == 0


def test_it_takes_one_piece_of_feedback_per_request(widget: APIClient) -> None:
    body = {"items": [{"request_id": "r", "kind": "comment", "text": "x"}]}

    response = _feedback(widget, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "one_at_a_time"


def test_it_rate_limits_per_address(widget: APIClient, settings: Any) -> None:
    settings.WIDGET_RATE_PER_ADDRESS = 3
    body = {"request_id": "r", "kind": "implicit", "event": "copy"}

    statuses = [_feedback(widget, body).status_code for _ in range(4)]

    assert statuses == [201, 201, 201, 429]
    limited = _feedback(widget, body)
    assert int(limited["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "throttled"
    other_address = _feedback(widget, body, REMOTE_ADDR="10.0.0.9")
    assert other_address.status_code == 201


def test_cors_preflight_allows_only_widget_origins(widget_key: str) -> None:
    client = APIClient()
    preflight = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type",
    }

    allowed = client.options("/api/v1/widget/feedback", HTTP_ORIGIN=APP, **preflight)
    refused = client.options(
        "/api/v1/widget/feedback", HTTP_ORIGIN="https://evil.example.com", **preflight
    )
    elsewhere = client.options("/api/v1/interactions", HTTP_ORIGIN=APP, **preflight)

    assert allowed["Access-Control-Allow-Origin"] == APP
    assert "Access-Control-Allow-Credentials" not in allowed
    assert "Access-Control-Allow-Origin" not in refused
    assert "Access-Control-Allow-Origin" not in elsewhere


def test_the_command_creates_a_key_for_its_origins(project: Project) -> None:
    out = StringIO()

    call_command(
        "createwidgetkey", project.name, "--origin", "https://App.Example.com:443/", stdout=out
    )

    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("flp_")
    stored = project.keys.get(scope=KeyScope.FEEDBACK)
    assert stored.allowed_origins == [APP]


@pytest.mark.parametrize(
    "origin", ["javascript:alert(1)", "https://app.example.com/path", "app.example.com", ""]
)
def test_the_command_refuses_what_is_not_an_origin(project: Project, origin: str) -> None:
    with pytest.raises(CommandError):
        call_command("createwidgetkey", project.name, "--origin", origin, stdout=StringIO())


def test_origins_are_written_as_browsers_send_them() -> None:
    assert origin_normalise("HTTPS://App.Example.com:443") == APP
    assert origin_normalise("http://127.0.0.1:8001/") == "http://127.0.0.1:8001"
