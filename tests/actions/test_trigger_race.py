"""Two workers evaluating the same trigger at the same moment: one run, one watermark step.

Each worker is a thread with its own database connection, released together by a barrier,
several rounds in a row (new examples each round); PostgreSQL serialises them on the
trigger's row lock. SQLite's test database is in memory with a shared cache, where a second
writer fails at once instead of waiting, so its sibling replays the lost race step by step:
the rival fires between a worker's count and its UPDATE, and the conditional UPDATE refuses.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from django.db import connection

from annotation.models import Project, Trigger, TriggerRun
from annotation.services.projects import project_create
from annotation.services.trigger_config import trigger_create
from annotation.services.triggers import trigger_run
from tests.actions.triggers_data import Examples

ROUNDS = 5
WORKERS = 2


@pytest.fixture
def race_project(transactional_db: Any) -> Project:
    return project_create(name="race").obj.project


def race(trigger: Trigger) -> list[TriggerRun | None]:
    barrier = threading.Barrier(WORKERS)
    results: list[TriggerRun | None] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            mine = Trigger.objects.get(pk=trigger.pk)  # each worker read it before the race
            barrier.wait(timeout=10)
            run = trigger_run(mine, reason="threshold")
            with lock:
                results.append(run)
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.postgresql  # threads on one in-memory SQLite fail on its table locks; sibling below
def test_two_workers_racing_fire_a_trigger_once_per_batch(race_project: Project) -> None:
    examples = Examples(race_project)
    trigger = trigger_create(
        project=race_project,
        created_by=None,
        data={
            "name": "race",
            "export": {"kind": "sft", "filters": {"queues": [examples.queue_id]}},
            "min_new_examples": 2,
        },
    )
    for round_ in range(1, ROUNDS + 1):
        examples.add(2)
        results = race(trigger)
        fired = [run for run in results if run is not None]
        assert len(results) == WORKERS
        assert len(fired) == 1, f"round {round_}: {len(fired)} runs"
        trigger.refresh_from_db()
        assert trigger.watermark == examples.newest
        assert fired[0].example_count == 2

    runs = list(TriggerRun.objects.filter(trigger=trigger).order_by("pk"))
    assert len(runs) == ROUNDS
    # Consecutive runs cover consecutive, disjoint stretches of examples.
    for before, after in itertools.pairwise(runs):
        assert after.watermark_from == before.watermark_to


@pytest.mark.django_db
def test_a_worker_that_loses_the_race_between_count_and_update_does_not_fire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from annotation.services import triggers as service

    race_project = project_create(name="race").obj.project

    examples = Examples(race_project)
    trigger = trigger_create(
        project=race_project,
        created_by=None,
        data={
            "name": "race",
            "export": {"kind": "sft", "filters": {"queues": [examples.queue_id]}},
            "min_new_examples": 2,
        },
    )
    examples.add(2)
    counted = service.trigger_new_examples
    rival_runs: list[TriggerRun | None] = []
    calls = 0

    def count_then_let_the_rival_fire(t: Trigger) -> Any:
        nonlocal calls
        calls += 1
        found = counted(t)
        if calls == 1:
            # The other worker commits its run right after this one counted.
            rival = Trigger.objects.get(pk=t.pk)
            rival_runs.append(service.trigger_run(rival, reason="threshold"))
        return found

    monkeypatch.setattr(service, "trigger_new_examples", count_then_let_the_rival_fire)
    assert service.trigger_run(trigger, reason="threshold") is None
    assert rival_runs[0] is not None
    assert TriggerRun.objects.filter(trigger=trigger).count() == 1
    trigger.refresh_from_db()
    assert trigger.watermark == examples.newest
