"""What the tests that start Celery worker processes share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection


def database_url() -> str:
    """The test database (test_<name>), as a worker process's DATABASE_URL."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    """`condition()`'s first truthy result, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
