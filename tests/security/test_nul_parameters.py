"""NUL in a path or query parameter reached a PostgreSQL query and answered 500: now a 400 naming
the parameter, JSON under /api/ and a page elsewhere (one middleware)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import Persona
from tests.security.conftest import Targets


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/queues?project=%00", "project"),
        ("/api/v1/queues?project=support-bot&state=%00", "state"),
        ("/api/v1/exports?project=support%00bot", "project"),
        ("/api/v1/checks?project=%00", "project"),
        ("/api/v1/guidelines?project=%00", "project"),
        ("/api/v1/interactions/req-t?project=%00", "project"),
        ("/api/v1/queues?x%00y=1", "x\\u0000y"),
    ],
)
def test_an_api_query_parameter_with_nul_is_a_400_naming_it(
    lead: Persona, targets: Targets, url: str, parameter: str
) -> None:
    response = lead.client().get(url)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_text"
    assert error["details"] == {"field": parameter}
    assert f"`{parameter}`" in error["message"] and "NUL" in error["message"]


@pytest.mark.parametrize("url", ["/api/v1/interactions/a%00b", "/api/v1/queues/%00"])
def test_an_api_path_with_nul_is_a_400(lead: Persona, url: str) -> None:
    response = lead.client().get(url)

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "path"}


def test_a_project_key_gets_the_same_answer(ingest_client: Any) -> None:
    response = ingest_client.get("/api/v1/interactions/a%00b")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_text"


def test_a_page_with_nul_in_the_query_is_a_400_page(lead: Persona, targets: Targets) -> None:
    client = Client()
    client.force_login(lead.user)

    response = client.get(f"/lead/queues/{targets.queue.pk}/progress?annotator=%00")

    html = response.content.decode()
    assert response.status_code == 400
    assert "<html" in html and "Not accepted" in html
    assert "The query parameter `annotator` contains a NUL character" in html


def test_an_htmx_request_gets_the_message_alone(lead: Persona, targets: Targets) -> None:
    client = Client()
    client.force_login(lead.user)

    response = client.get("/exports/?project=%00", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 400
    assert "<html" not in html
    assert "The query parameter `project` contains a NUL character" in html
