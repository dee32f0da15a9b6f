"""Timestamps are taken only in a range every page can read back (issue: a year-1 time broke them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Feedback, Interaction

POISONED = [
    "0001-01-01T00:00:00+14:00",  # year 0 in UTC: stored, then unreadable
    "2026-01-01T00:00:00+21:46",
    "9999-12-31T23:59:59-23:59",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
]


def _post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def _interaction(request_id: str, timestamp: str) -> dict[str, Any]:
    return {"request_id": request_id, "prompt": "Hi", "response": "Hello", "timestamp": timestamp}


@pytest.mark.parametrize("timestamp", POISONED)
def test_it_refuses_an_interaction_timestamp_out_of_range(
    ingest_client: APIClient, timestamp: str
) -> None:
    response = _post(ingest_client, "/api/v1/interactions", _interaction("req-1", timestamp))

    assert response.status_code == 400
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == "timestamp"
    assert "2000-01-01" in error["message"] or "-14:00 and +14:00" in error["message"]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("timestamp", POISONED)
def test_it_refuses_a_feedback_timestamp_out_of_range(
    ingest_client: APIClient, timestamp: str
) -> None:
    body = {"request_id": "req-1", "kind": "comment", "text": "meh", "timestamp": timestamp}

    response = _post(ingest_client, "/api/v1/feedback", body)

    assert response.status_code == 400
    [error] = response.json()["error"]["details"]["errors"]
    assert error["field"] == "timestamp"
    assert not Feedback.objects.exists()


def test_the_message_states_the_accepted_range(ingest_client: APIClient) -> None:
    response = _post(
        ingest_client, "/api/v1/interactions", _interaction("req-1", "0001-01-01T00:00:00+14:00")
    )

    message = response.json()["error"]["details"]["errors"][0]["message"]
    assert "between 2000-01-01T00:00:00Z and now + 1 day" in message


def test_the_offset_message_states_the_accepted_offsets(ingest_client: APIClient) -> None:
    response = _post(
        ingest_client, "/api/v1/interactions", _interaction("req-1", "2026-01-01T00:00:00+21:46")
    )

    message = response.json()["error"]["details"]["errors"][0]["message"]
    assert "+21:46" in message and "between -14:00 and +14:00" in message


def test_a_batch_stores_the_good_rows_and_reports_the_poisoned_one(
    ingest_client: APIClient,
) -> None:
    body = {
        "items": [
            _interaction("req-1", "2026-11-20T10:00:00Z"),
            _interaction("req-2", "0001-01-01T00:00:00+14:00"),
            _interaction("req-3", "2026-11-20T10:00:00+14:00"),
        ]
    }

    response = _post(ingest_client, "/api/v1/interactions", body)

    assert response.status_code == 207
    assert response.json()["created"] == 2
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "timestamp")]
    assert sorted(Interaction.objects.values_list("request_id", flat=True)) == ["req-1", "req-3"]


def test_it_accepts_the_edges_of_the_range(ingest_client: APIClient) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=23)).isoformat()
    body = {
        "items": [
            _interaction("req-1", "2000-01-01T00:00:00Z"),
            _interaction("req-2", soon),
            _interaction("req-3", "2026-06-01T00:00:00-14:00"),
        ]
    }

    response = _post(ingest_client, "/api/v1/interactions", body)

    assert response.status_code == 201
    assert response.json()["created"] == 3


def test_the_interaction_stays_readable_after_a_refused_timestamp(
    ingest_client: APIClient, keyed_project: Any
) -> None:
    _post(ingest_client, "/api/v1/interactions", _interaction("req-1", "2026-11-20T10:00:00Z"))
    _post(
        ingest_client,
        "/api/v1/feedback",
        {"request_id": "req-1", "kind": "comment", "text": "x", "timestamp": POISONED[0]},
    )

    response = ingest_client.get("/api/v1/interactions/req-1")

    assert response.status_code == 200
    assert response.json()["feedback"] == []
