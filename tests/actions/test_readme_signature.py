"""README's signature check for receivers works on a real delivery."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from annotation.models import Webhook
from annotation.outbound.signing import signature_header
from annotation.services.deliveries import deliveries_enqueue
from tests.actions.conftest import SECRET
from tests.actions.receiver import Receiver

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify() -> Callable[..., bool]:
    section = README.read_text().split("## Webhooks and pipeline triggers", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "README's signature snippet is missing"
    namespace: dict[str, Any] = {}
    exec(compile(found.group(1), "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


@pytest.mark.django_db
def test_the_readme_snippet_verifies_a_real_delivery(
    webhook: Webhook, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    verify = readme_verify()
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_enqueue(webhooks=[webhook], event="alert.fired", payload={"alert": {}})
    [got] = receiver.received
    header = got.headers["X-Feedbackloop-Signature"]

    assert verify(SECRET, got.body, header)
    assert not verify("whsec_some-other-secret-00000", got.body, header)
    assert not verify(SECRET, got.body.replace(b"alert", b"alarm"), header)
    assert not verify(SECRET, got.body, "")


def test_the_readme_snippet_refuses_old_timestamps() -> None:
    verify = readme_verify()
    body = b'{"event":"alert.fired"}'
    old = signature_header(SECRET, body, int(time.time()) - 301)
    fresh = signature_header(SECRET, body, int(time.time()) - 10)
    assert not verify(SECRET, body, old)
    assert verify(SECRET, body, fresh)
