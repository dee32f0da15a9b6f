"""A plain `celery -A feedbackloop worker`, started without -Q, runs the work of every queue.

Real processes: the worker runs against the test database and the broker of the settings,
under a key prefix of this test's own, so no other worker on the same Redis takes its tasks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from kombu import Connection

from annotation.models import FillStatus, QueueFill
from annotation.models.review import FillTrigger
from annotation.services.projects import project_create
from annotation.services.queues import queue_create
from annotation.tasks.queues import fill_queue
from feedbackloop.celery import app as celery_app
from tests.factories import REVIEW_SCHEMA
from tests.integration.processes import database_url, wait_for
from tests.review.data import interaction, rating

ROOT = Path(__file__).resolve().parents[2]
QUEUES = {"default", "checks", "evaluators", "heavy", "alerts"}


def test_every_routed_queue_is_declared_for_a_plain_worker() -> None:
    # The configured queues (tests may add their own private queues to amqp.queues at run time).
    declared = set(celery_app.conf.task_queues)
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}

    assert declared == QUEUES
    assert routed <= declared


class PlainWorker:
    """`celery -A feedbackloop worker` with no -Q, under a broker key prefix of its own."""

    def __init__(self, log: Path) -> None:
        self.prefix = f"plain-worker-{uuid.uuid4().hex[:12]}:"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "feedbackloop",
                    "worker",
                    "-P",
                    "solo",
                    "-n",
                    f"{self.prefix.rstrip(':')}@%h",
                    "-l",
                    "info",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env={
                    **os.environ,
                    "DATABASE_URL": database_url(),
                    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                    "CELERY_BROKER_KEY_PREFIX": self.prefix,
                    "DJANGO_SETTINGS_MODULE": "feedbackloop.settings",
                },
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in client.scan_iter(match=f"{self.prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def plain_worker(tmp_path: Path) -> Iterator[PlainWorker]:
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "this test needs Redis"
    worker = PlainWorker(tmp_path / "worker.log")
    yield worker
    worker.stop()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_started_without_queues_runs_a_fill_routed_to_heavy(
    plain_worker: PlainWorker,
) -> None:
    project = project_create(name="plain-bot").obj.project
    for n in range(3):
        rating(interaction(project, f"low-{n}"), 0.0)
    queue = queue_create(
        project=project, name="review", sources=[{"type": "low_rated"}], schema=REVIEW_SCHEMA
    )
    fill = QueueFill.objects.create(queue=queue, trigger=FillTrigger.MANUAL)
    wait_for(lambda: "ready." in plain_worker.output(), "the worker to start")

    with Connection(
        settings.CELERY_BROKER_URL, transport_options={"global_keyprefix": plain_worker.prefix}
    ) as broker:
        # Routed by the settings, as production sends it: no queue named here.
        fill_queue.apply_async(args=(fill.pk,), connection=broker)

    def finished() -> bool:
        fill.refresh_from_db()
        return fill.status == FillStatus.DONE

    wait_for(finished, f"the fill to run; worker log:\n{plain_worker.output()}")
    assert fill.added == 3
    # The start-up banner lists what it consumes: every queue, heavy among them.
    banner = plain_worker.output()
    for name in QUEUES:
        assert f".> {name} " in banner, name
