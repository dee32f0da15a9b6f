"""An LLM judge on a real worker: ingestion → rule checks → the `evaluators` queue → a 429 retried
through the broker with a countdown → the verdict stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from rest_framework.test import APIClient

from annotation.models import Flag
from annotation.services.check_config import check_save
from annotation.services.projects import project_create
from feedbackloop.celery import app as celery_app
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server

pytestmark = pytest.mark.integration


@pytest.fixture
def checks_worker(transactional_db: Any) -> Iterator[WorkController]:
    """A real worker for the two check queues, as production runs them."""
    assert celery_app.conf.broker_url.startswith("redis://"), "integration tests need Redis"
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=["checks", "evaluators"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.fixture
def judge_server(settings: Any) -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        settings.JUDGE_BASE_URL = server.base_url
        settings.JUDGE_MODEL = "judge"
        settings.JUDGE_MAX_RETRIES = 2
        yield server


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


def test_a_judge_verdict_arrives_through_the_evaluators_queue_after_a_429(
    checks_worker: Any, judge_server: FakeOpenAI
) -> None:
    created = project_create(name="judged-bot")
    check_save(
        project=created.obj.project,
        name="politeness",
        check_type="llm_judge",
        parameters={"rubric": "Is this polite? {response}"},
    )
    judge_server.enqueue_status(429, retry_after=1)
    judge_server.enqueue('{"score": 0.2, "label": "curt", "rationale": "Dismissive."}')
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")

    response = client.post(
        "/api/v1/interactions",
        {"request_id": "r1", "prompt": "Help", "response": "Read the docs."},
        format="json",
    )

    assert response.status_code == 201
    wait_for(lambda: Flag.objects.filter(check_config__name="politeness").exists())
    flag = Flag.objects.get(check_config__name="politeness")
    assert (flag.label, flag.flagged, flag.score) == ("curt", True, 0.2)
    assert len(judge_server.chat_requests) == 2
