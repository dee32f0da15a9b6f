"""Evaluators run on their own queue and wait for a retry with a countdown, never in a sleep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from annotation.models import Check, Flag, Project
from annotation.services.check_config import check_save
from annotation.services.checks import evaluator_run
from feedbackloop.celery import app as celery_app
from tests.factories import InteractionFactory
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server

GOOD = '{"score": 0.9, "label": "polite", "rationale": ""}'


@pytest.fixture
def judge_server(settings: Any) -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        settings.JUDGE_BASE_URL = server.base_url
        settings.JUDGE_MODEL = "judge"
        settings.JUDGE_BACKOFF_SECONDS = 2.0
        settings.JUDGE_MAX_RETRIES = 3
        yield server


@pytest.fixture
def judge(project: Project, judge_server: FakeOpenAI) -> Check:
    return check_save(
        project=project,
        name="politeness",
        check_type="llm_judge",
        parameters={"rubric": "Is this polite? {response}"},
    )


def _queue_of(task_name: str) -> str:
    route = celery_app.amqp.router.route({}, task_name, (), {})
    return str(route["queue"].name)


def test_evaluators_have_their_own_queue() -> None:
    assert _queue_of("annotation.tasks.checks.run_evaluator") == "evaluators"
    assert _queue_of("annotation.tasks.checks.run_checks") == "checks"
    assert _queue_of("annotation.tasks.checks.rerun_check") == "checks"


def test_an_unavailable_judge_defers_the_rest_of_the_batch_with_its_retry_after(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    first, second, third = (InteractionFactory(project=project) for _ in range(3))
    judge_server.enqueue(GOOD)
    judge_server.enqueue_status(429, retry_after=7)

    batch = evaluator_run(
        check_id=judge.pk, interaction_ids=[first.pk, second.pk, third.pk], attempt=0
    )

    assert batch.stored == 1
    assert batch.deferred == [second.pk, third.pk]
    assert 7 <= batch.retry_in <= 7 * 1.1  # Retry-After, plus at most 10% jitter
    assert len(judge_server.chat_requests) == 2  # one call each, no retry in between
    assert list(Flag.objects.values_list("interaction_id", flat=True)) == [first.pk]


def test_without_retry_after_the_countdown_backs_off_exponentially(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    item = InteractionFactory(project=project)
    judge_server.enqueue_status(503)
    judge_server.enqueue_status(503)

    first = evaluator_run(check_id=judge.pk, interaction_ids=[item.pk], attempt=0)
    second = evaluator_run(check_id=judge.pk, interaction_ids=[item.pk], attempt=1)

    assert 2.0 <= first.retry_in <= 2.2
    assert 4.0 <= second.retry_in <= 4.4
    assert not Flag.objects.exists()


def test_the_last_attempt_records_the_judge_as_unavailable(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    item = InteractionFactory(project=project)
    judge_server.enqueue_status(503)

    batch = evaluator_run(check_id=judge.pk, interaction_ids=[item.pk], attempt=3)

    assert batch.deferred == [] and batch.stored == 1
    assert Flag.objects.get().label == "evaluator_unavailable"
    assert len(judge_server.chat_requests) == 1


@pytest.mark.django_db(transaction=True)
def test_saving_a_judge_probes_it_before_the_transaction_opens(
    project: Project, judge_server: FakeOpenAI
) -> None:
    seen: list[tuple[bool, int]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        probes = sum(1 for r in judge_server.requests if r.path.endswith("/models"))
        seen.append((connection.in_atomic_block, probes))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        check_save(
            project=project,
            name="politeness",
            check_type="llm_judge",
            parameters={"rubric": "Is this polite? {response}"},
        )

    in_transaction = [probes for atomic, probes in seen if atomic]
    assert in_transaction  # the check was written in a transaction…
    assert all(probes == 1 for probes in in_transaction)  # …opened after the probe answered
