"""A redelivered agreement task never computes a report twice at once."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from annotation.models import AgreementReport, JobStatus, Queue
from annotation.services.agreement import _LOCK_NAMESPACE, _claim, agreement_compute


@pytest.fixture
def other_session() -> Iterator[psycopg.Connection]:
    """A second PostgreSQL session on the test database: the first worker, still computing."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as session:
        yield session


def test_it_computes_a_pending_report_and_a_redelivery_leaves_it(disputed_queue: Queue) -> None:
    report = AgreementReport.objects.create(queue=disputed_queue, parameters={"resamples": 0})

    first = agreement_compute(report_id=report.pk)
    again = agreement_compute(report_id=report.pk)

    assert first.status == JobStatus.DONE
    assert again.status == JobStatus.DONE and again.finished_at == first.finished_at


@pytest.mark.postgresql  # a second PostgreSQL session holds the lock
def test_it_leaves_a_report_another_worker_is_computing(
    disputed_queue: Queue, other_session: psycopg.Connection
) -> None:
    report = AgreementReport.objects.create(
        queue=disputed_queue, parameters={"resamples": 0}, status=JobStatus.RUNNING, progress=0.4
    )
    other_session.execute("SELECT pg_advisory_lock(%s, %s)", (_LOCK_NAMESPACE, report.pk))

    redelivered = agreement_compute(report_id=report.pk)

    assert redelivered.status == JobStatus.RUNNING and redelivered.progress == 0.4
    assert redelivered.result == {}
    other_session.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_NAMESPACE, report.pk))


@pytest.mark.postgresql  # the advisory lock; the last test covers SQLite's status-only path
def test_it_takes_over_a_report_whose_worker_died(disputed_queue: Queue) -> None:
    report = AgreementReport.objects.create(
        queue=disputed_queue, parameters={"resamples": 0}, status=JobStatus.RUNNING, progress=0.4
    )

    redelivered = agreement_compute(report_id=report.pk)

    assert redelivered.status == JobStatus.DONE and redelivered.progress == 1.0


def test_it_moves_a_report_from_pending_to_running_only_once_without_a_lock(
    disputed_queue: Queue,
) -> None:
    # SQLite (the demo) takes no advisory lock: the status transition alone decides.
    report = AgreementReport.objects.create(queue=disputed_queue)

    claims = [_claim(report.pk, locked=False) for _ in range(3)]

    assert claims == [True, False, False]
    report.refresh_from_db()
    assert report.status == JobStatus.RUNNING and report.started_at is not None
