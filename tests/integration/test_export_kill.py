"""A Celery worker killed in the middle of an export leaves no finished-looking file, and the
task, redelivered to the next worker, builds the export completely.

Real processes: ``celery -A feedbackloop worker -P solo`` against the test database and
the broker of the settings, on a queue and under a key prefix of this test's own (so no
other worker on the same Redis takes the task, and no other test's unacknowledged
messages are touched), with a visibility timeout of a few seconds, after which the broker
hands a dead worker's message to the next one.

The export is frozen mid-way without any hook in the code: the test locks the export's
row, so the worker's next progress update waits on it, with rows already read and
partly written. Then the worker gets SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import Connection
from rest_framework.test import APIClient

from annotation.exports.storage import ExportStore
from annotation.models import Export, JobStatus, Project
from annotation.services.exports import export_create
from annotation.tasks.exports import build_export
from tests.conftest import Persona
from tests.factories import QueueFactory
from tests.integration.processes import database_url, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ITEMS = 60_000
VISIBILITY_TIMEOUT = 2
ROOT = Path(__file__).resolve().parents[2]


class Workers:
    """Starts solo-pool worker processes on this test's own queue and key prefix."""

    def __init__(self, tmp_path: Path, media: Path) -> None:
        self.queue = f"export-kill-{uuid.uuid4().hex[:12]}"
        self.prefix = f"{self.queue}:"
        self.logs = tmp_path
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_BROKER_KEY_PREFIX": self.prefix,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "MEDIA_ROOT": str(media),
            "DJANGO_SETTINGS_MODULE": "feedbackloop.settings",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.processes) + 1
        log = open(self.logs / f"worker-{n}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "feedbackloop",
                "worker",
                "-P",
                "solo",
                "-Q",
                self.queue,
                "-n",
                f"{self.queue}-{n}@%h",
                "-l",
                "info",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def send(self, export_id: int) -> None:
        with Connection(
            settings.CELERY_BROKER_URL, transport_options={"global_keyprefix": self.prefix}
        ) as broker:
            build_export.apply_async(args=(export_id,), queue=self.queue, connection=broker)

    def log(self, n: int) -> str:
        return (self.logs / f"worker-{n}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        # Leave the shared Redis as it was: this test's keys all carry its prefix.
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in client.scan_iter(match=f"{self.prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def workers(tmp_path: Path, settings: Any) -> Iterator[Workers]:
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "this test needs Redis"
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    started = Workers(tmp_path, media)
    yield started
    started.stop()


def load(project: Project, user_id: int) -> int:
    """ITEMS reviewed items, set-based; returns the queue's id."""
    queue = QueueFactory(project=project, name="kill")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotation_interaction (project_id, request_id, timestamp, model, "
            "model_version, prompt_template, prompt_template_version, messages, response, "
            "retrieved_context, user_id, session_id, experiment, variant, metadata, received_at) "
            "SELECT %s, 'kill-' || g, now(), 'm', 'v', 't', '', jsonb_build_array("
            "jsonb_build_object('role', 'user', 'content', 'Question ' || g || ': ' || "
            "repeat('how do I reset my password? ', 8))), 'Answer ' || g || ': ' || "
            "repeat('open Settings, then Security. ', 12), '[]', '', '', '', '', '{}', now() "
            "FROM generate_series(1, %s) AS g",
            [project.pk, ITEMS],
        )
        cursor.execute(
            "INSERT INTO annotation_queueitem (queue_id, interaction_id, reasons, "
            "inclusion_probability, priority, state, annotations_wanted, annotations_done, "
            "leases_active, skips, created_at, updated_at) SELECT %s, id, '[\"random\"]', 0.5, "
            "0, 'done', 1, 1, 0, 0, now(), now() FROM annotation_interaction "
            "WHERE project_id = %s ORDER BY id",
            [queue.pk, project.pk],
        )
        cursor.execute(
            "INSERT INTO annotation_annotation (item_id, annotator_id, values, seconds, revision, "
            'created_at, updated_at) SELECT id, %s, \'{"verdict": "good"}\', 10, 1, now(), now() '
            "FROM annotation_queueitem WHERE queue_id = %s",
            [user_id, queue.pk],
        )
    return int(queue.pk)


def blocked_on_the_export_row() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE annotation_export%%'"
        )
        return bool(cursor.fetchone()[0])


def status(export_id: int) -> str:
    return str(Export.objects.values_list("status", flat=True).get(pk=export_id))


def test_a_worker_killed_mid_export_leaves_no_finished_file_and_the_retry_completes(
    project: Project, engineer: Persona, annotator: Persona, workers: Workers
) -> None:
    load(project, annotator.user.pk)
    export = export_create(
        project=project,
        created_by=engineer.user,  # type: ignore[arg-type]
        data={"project": project.name, "kind": "sft", "split": {"validation": 0.1, "seed": 7}},
        enqueue=False,
    )
    store = ExportStore(export.storage_prefix)
    folder = store.staging_dir

    first = workers.start()
    workers.send(export.pk)
    sent_at = time.monotonic()
    wait_for(lambda: status(export.pk) == JobStatus.RUNNING, "the first worker to start")

    # Freeze the export at its next progress update: rows read, files half written.
    with psycopg.connect(database_url(), autocommit=False) as locker:
        locker.execute("SELECT id FROM annotation_export WHERE id = %s FOR UPDATE", [export.pk])
        wait_for(blocked_on_the_export_row, "the worker to wait on its progress update")
        temps = [p.name for p in folder.iterdir()]
        assert all(name.startswith(".") and name.endswith(".tmp") for name in temps), temps
        assert temps, "the writers have their temp files open"

        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
        locker.rollback()

    # Nothing that looks finished: no data file under its final name, no manifest.
    names = sorted(p.name for p in folder.iterdir())
    assert "manifest.json" not in names
    assert not [n for n in names if not n.startswith(".")], names
    assert store.manifest() is None
    assert status(export.pk) == JobStatus.RUNNING
    refused = APIClient()
    refused.credentials(HTTP_AUTHORIZATION=f"Token {engineer.token}")
    response = refused.get(f"/api/v1/exports/{export.pk}/download?part=train")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "export_not_ready"

    # The broker hands the unacknowledged task to the next worker once it is overdue.
    time.sleep(max(0.0, VISIBILITY_TIMEOUT + 1 - (time.monotonic() - sent_at)))
    workers.start()
    try:
        wait_for(lambda: status(export.pk) in (JobStatus.DONE, JobStatus.FAILED), "the retry")
    except AssertionError:
        raise AssertionError(f"no retry; second worker's log:\n{workers.log(2)}") from None

    export.refresh_from_db()
    assert export.status == JobStatus.DONE, export.error
    assert export.rows == ITEMS
    assert export.manifest["counts"]["rows"] == ITEMS
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert store.verify() == []
    assert store.manifest() == export.manifest
    assert "build_export" in workers.log(2) and "succeeded" in workers.log(2)
