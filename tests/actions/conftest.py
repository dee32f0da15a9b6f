"""Webhooks and triggers: a real local receiver, webhooks pointing at it, permissive outbound
settings (the receiver is on 127.0.0.1 over http), short timeouts and backoffs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from annotation.models import Project, Webhook
from annotation.services.webhooks import webhook_create
from tests.actions.receiver import Receiver, serve


@pytest.fixture(autouse=True)
def _outbound(settings: Any, tmp_path: Path) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_BACKOFF_SECONDS = 2.0
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 60.0
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


SECRET = "whsec_test-secret-0123456789abcdef"


def make_webhook(project: Project, url: str, **data: Any) -> Webhook:
    webhook, _ = webhook_create(
        project=project,
        created_by=None,
        data={"name": data.pop("name", "ci"), "url": url, "secret": SECRET, **data},
    )
    return webhook


@pytest.fixture
def webhook(project: Project, receiver: Receiver) -> Webhook:
    return make_webhook(project, receiver.url)
