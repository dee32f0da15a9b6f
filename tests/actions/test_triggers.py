"""Pipeline triggers: fire on N new examples (or an alert), build the export, announce it with
a signed, expiring, export-scoped download link; never fire twice for the same data."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from rest_framework.test import APIClient

from annotation.models import Export, Project, Trigger, TriggerRun, Webhook
from annotation.services.trigger_config import trigger_create
from annotation.services.triggers import trigger_run, triggers_evaluate
from tests.actions.conftest import SECRET
from tests.actions.receiver import Receiver
from tests.actions.triggers_data import Examples

pytestmark = pytest.mark.django_db


@pytest.fixture
def examples(project: Project) -> Examples:
    return Examples(project)


@pytest.fixture
def trigger(project: Project, webhook: Webhook, examples: Examples) -> Trigger:
    return trigger_create(
        project=project,
        created_by=None,
        data={
            "name": "nightly SFT",
            "export": {
                "kind": "sft",
                "format": "jsonl",
                "filters": {"queues": [examples.queue_id]},
            },
            "min_new_examples": 3,
            "webhooks": [webhook.pk],
        },
    )


def evaluate(callbacks: Any) -> list[TriggerRun]:
    with callbacks(execute=True):
        return triggers_evaluate()


def download(url: str) -> Any:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"
    return APIClient().get(f"{parts.path}?{parts.query}")


def test_it_fires_once_enough_new_examples_are_in_and_sends_the_export(
    trigger: Trigger,
    examples: Examples,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    examples.add(2)
    assert evaluate(django_capture_on_commit_callbacks) == []
    examples.add(1)

    [run] = evaluate(django_capture_on_commit_callbacks)

    run.refresh_from_db()
    assert (run.reason, run.status, run.example_count) == ("threshold", "delivered", 3)
    assert run.watermark_from is None and run.watermark_to == examples.newest
    trigger.refresh_from_db()
    assert trigger.watermark == examples.newest and trigger.last_run_at is not None
    [got] = receiver.received
    assert receiver.verified(SECRET, got)
    body = got.json()
    assert body["event"] == "trigger.fired"
    assert body["trigger"]["name"] == "nightly SFT" and body["trigger"]["example_count"] == 3
    export = Export.objects.get(pk=body["export"]["id"])
    assert export.status == "done" and export.rows == 3
    assert body["export"]["manifest"]["files"] == export.manifest["files"]
    response = download(body["export"]["download_url"])
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3
    assert response["X-Content-SHA256"] == export.manifest["files"][0]["sha256"]


def test_it_never_fires_twice_for_the_same_examples(
    trigger: Trigger, examples: Examples, django_capture_on_commit_callbacks: Any
) -> None:
    examples.add(3)
    [first] = evaluate(django_capture_on_commit_callbacks)
    assert evaluate(django_capture_on_commit_callbacks) == []
    assert trigger_run(trigger, reason="manual") is None  # nothing new, even by hand
    examples.add(2)
    assert evaluate(django_capture_on_commit_callbacks) == []  # 2 < 3
    examples.add(1)
    [second] = evaluate(django_capture_on_commit_callbacks)
    assert second.example_count == 3
    assert second.watermark_from == first.watermark_to
    assert TriggerRun.objects.filter(trigger=trigger).count() == 2


def test_a_stale_copy_of_the_trigger_cannot_fire_again(
    trigger: Trigger, examples: Examples, django_capture_on_commit_callbacks: Any
) -> None:
    # A second worker read the trigger before the first one fired: it re-reads under the lock.
    stale = Trigger.objects.get(pk=trigger.pk)
    examples.add(3)
    assert trigger_run(trigger, reason="threshold") is not None
    assert trigger_run(stale, reason="threshold") is None
    assert TriggerRun.objects.count() == 1


def test_an_alert_fires_it_with_one_new_example(
    trigger: Trigger, examples: Examples, django_capture_on_commit_callbacks: Any
) -> None:
    alert = SimpleNamespace(pk=42)
    assert trigger_run(trigger, reason="alert", alert=alert) is None  # nothing new yet
    examples.add(1)
    with django_capture_on_commit_callbacks(execute=True):
        run = trigger_run(trigger, reason="alert", alert=alert)
    assert run is not None
    run.refresh_from_db()
    assert (run.reason, run.alert_id, run.example_count, run.status) == (
        "alert",
        42,
        1,
        "delivered",
    )


def test_an_inactive_trigger_does_not_fire(trigger: Trigger, examples: Examples) -> None:
    Trigger.objects.filter(pk=trigger.pk).update(active=False)
    examples.add(5)
    assert triggers_evaluate() == []


def test_a_definition_that_stopped_holding_switches_the_trigger_off(
    trigger: Trigger, examples: Examples
) -> None:
    examples.add(3)
    examples.reviews.queue.delete()  # the queue the export names is gone
    [run] = triggers_evaluate()
    assert run.status == "failed" and "no longer valid" in run.error
    trigger.refresh_from_db()
    assert trigger.active is False
    assert triggers_evaluate() == []


def fired_link(trigger: Trigger, examples: Examples, callbacks: Any, receiver: Receiver) -> str:
    examples.add(3)
    evaluate(callbacks)
    url: str = receiver.received[-1].json()["export"]["download_url"]
    return url


def test_the_download_link_expires(
    trigger: Trigger,
    examples: Examples,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    url = fired_link(trigger, examples, django_capture_on_commit_callbacks, receiver)
    assert download(url).status_code == 200
    later = time.time() + settings.TRIGGER_DOWNLOAD_MAX_AGE_SECONDS + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = download(url)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "link_expired"


def test_the_download_link_opens_its_export_only(
    trigger: Trigger,
    examples: Examples,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = fired_link(trigger, examples, django_capture_on_commit_callbacks, receiver)
    parts = urlsplit(url)
    token = parse_qs(parts.query)["token"][0]
    export_id = int(parts.path.rstrip("/").split("/")[-2])
    other = Export.objects.create(project=trigger.project, kind="sft", status="done")
    client = APIClient()

    elsewhere = client.get(f"/api/v1/exports/{other.pk}/link", {"token": token})
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["code"] == "bad_link"
    tampered = client.get(f"/api/v1/exports/{export_id}/link", {"token": token[:-2] + "xx"})
    assert tampered.status_code == 403
    assert client.get(f"/api/v1/exports/{export_id}/link").status_code == 403
