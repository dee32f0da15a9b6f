from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController

from feedbackloop.celery import app as celery_app


@pytest.fixture
def celery_worker(transactional_db: Any) -> Iterator[WorkController]:
    """A real Celery worker consuming from Redis in a thread, against the test database."""
    assert celery_app.conf.broker_url.startswith("redis://"), "integration tests need Redis"
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=["default", "checks", "evaluators", "heavy"],
        shutdown_timeout=30,
    ) as worker:
        yield worker
