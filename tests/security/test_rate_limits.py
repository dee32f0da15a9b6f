"""Per-key ingestion rate limits: 429 with Retry-After and the JSON error, nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from annotation.models import Interaction, ProjectKey
from annotation.services.projects import project_key_create
from tests.conftest import KeyedProject


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def ingest(key: str, request_id: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {
        "request_id": request_id,
        "messages": [{"role": "user", "content": "hi"}],
        "response": "ok",
    }
    return client.post("/api/v1/interactions", json.dumps(body), content_type="application/json")


@override_settings(INGEST_RATE_PER_KEY=3)
def test_a_key_over_its_rate_gets_429_with_retry_after(keyed_project: KeyedProject) -> None:
    answers = [ingest(keyed_project.key, f"r{i}") for i in range(5)]

    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    refused = answers[3]
    assert 1 <= int(refused["Retry-After"]) <= 61
    body = refused.json()["error"]
    assert body["code"] == "rate_limited"
    assert body["details"]["limit_per_minute"] == 3
    assert body["details"]["retry_after"] == int(refused["Retry-After"])
    assert "nothing of this request was stored" in body["message"]
    assert refused["Content-Type"] == "application/json"
    assert set(Interaction.objects.values_list("request_id", flat=True)) == {"r0", "r1", "r2"}


@override_settings(INGEST_RATE_PER_KEY=2)
def test_each_key_has_its_own_budget_and_may_carry_its_own_limit(
    keyed_project: KeyedProject,
) -> None:
    other = project_key_create(project=keyed_project.project, name="bulk")
    ProjectKey.objects.filter(pk=other.obj.pk).update(rate_limit_per_minute=4)

    first = [ingest(keyed_project.key, f"a{i}").status_code for i in range(3)]
    second = [ingest(other.secret, f"b{i}").status_code for i in range(5)]

    assert first == [201, 201, 429]
    assert second == [201, 201, 201, 201, 429]


@override_settings(INGEST_RATE_PER_KEY=1)
def test_an_unknown_key_is_refused_before_it_counts(keyed_project: KeyedProject) -> None:
    for _ in range(3):
        assert ingest("flk_00000000_" + "a" * 27, "x").status_code == 401

    assert ingest(keyed_project.key, "ok").status_code == 201
