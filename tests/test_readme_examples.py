"""README's examples are the API's real answers."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

from tests.conftest import Persona

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_flag_example_is_what_the_interaction_read_back_answers(
    ingest_client: APIClient, engineer: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    text = " ".join(README.read_text().split())
    found = re.search(
        r"Flags appear in `GET /api/v1/interactions/\{request_id\}`; for the response `([^`]+)` "
        r"its `flags` are `(\[[^`]+\])`",
        text,
    )
    assert found, "README's flag example is missing or reworded"
    response, example = found.group(1), json.loads(found.group(2))
    with django_capture_on_commit_callbacks(execute=True):
        ingested = ingest_client.post(
            "/api/v1/interactions",
            {
                "request_id": "req-123",
                "messages": [{"role": "user", "content": "How do I reset my password?"}],
                "response": response,
            },
            format="json",
        )
    assert ingested.status_code == 201

    flags = engineer.client().get("/api/v1/interactions/req-123").json()["flags"]

    assert [list(flag) for flag in flags] == [list(flag) for flag in example]
    for flag in [*flags, *example]:
        datetime.fromisoformat(flag.pop("created_at"))
    assert flags == example
