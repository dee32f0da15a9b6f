from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from annotation.models import Check, Flag, Interaction, Project
from annotation.services.check_config import check_save
from annotation.services.checks import checks_rerun, checks_run, checks_sweep, evaluator_run
from annotation.tasks.checks import run_evaluator
from tests.conftest import Persona
from tests.factories import InteractionFactory
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server

GOOD = '{"score": 0.9, "label": "polite", "rationale": "Courteous and clear."}'
RUDE = '{"score": 0.1, "label": "rude", "rationale": "Insults the user."}'


@pytest.fixture
def judge_server(settings: Any) -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        settings.JUDGE_BASE_URL = server.base_url
        settings.JUDGE_MODEL = "judge"
        settings.JUDGE_BACKOFF_SECONDS = 0.01
        settings.JUDGE_TIMEOUT_SECONDS = 1
        settings.JUDGE_MAX_RETRIES = 2
        settings.JUDGE_INPUT_COST_PER_1K = 1.0
        settings.JUDGE_OUTPUT_COST_PER_1K = 2.0
        yield server


@pytest.fixture
def judge(project: Project, judge_server: FakeOpenAI) -> Check:
    return check_save(
        project=project,
        name="politeness",
        check_type="llm_judge",
        parameters={"rubric": "Is this polite? Question: {prompt} Answer: {response}"},
    )


def ids(*interactions: Interaction) -> list[int]:
    return [i.pk for i in interactions]


def test_it_flags_what_the_rules_find_and_marks_everything_checked(project: Project) -> None:
    leaky = InteractionFactory(project=project, response="Mail me at kim@example.org, idiot.")
    clean = InteractionFactory(project=project, response="Open Settings, then Security.")

    result = checks_run(project_id=project.pk, interaction_ids=ids(leaky, clean))

    assert result.checked == 2 and result.flagged == 2
    flags = {f.check_config.name: f for f in Flag.objects.filter(interaction=leaky)}
    assert set(flags) == {"pii", "blocklist"}
    assert flags["pii"].spans == [{"start": 11, "end": 26, "kind": "email"}]
    assert flags["pii"].severity == 30
    assert not Flag.objects.filter(interaction=clean).exists()
    assert Interaction.objects.filter(checked_at__isnull=True).count() == 0


def test_a_rerun_replaces_stale_flags(project: Project) -> None:
    leaky = InteractionFactory(project=project, response="kim@example.org")
    checks_run(project_id=project.pk, interaction_ids=ids(leaky))
    pii = project.checks.get(name="pii")
    check_save(
        project=project, check=pii, name="pii", check_type="pii", parameters={"kinds": ["phone"]}
    )

    checks_rerun(check=project.checks.get(name="pii"))

    assert not Flag.objects.filter(check_config__name="pii").exists()


def test_disabled_checks_do_not_run(project: Project) -> None:
    project.checks.update(enabled=False)
    leaky = InteractionFactory(project=project, response="kim@example.org")

    assert checks_run(project_id=project.pk, interaction_ids=ids(leaky)).flagged == 0


def test_ingestion_queues_the_checks_after_commit(
    ingest_client: APIClient, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingest_client.post(
            "/api/v1/interactions",
            {"request_id": "req-1", "prompt": "Hi", "response": "Call +1 415 555 0132 now"},
            format="json",
        )

    body = lead.client().get("/api/v1/interactions/req-1").json()
    assert body["checked_at"] is not None
    assert body["flags"] == [
        {
            "check": "pii",
            "check_type": "pii",
            "flagged": True,
            "severity": "critical",
            "score": 1.0,
            "spans": [{"start": 5, "end": 20, "kind": "phone"}],
            "label": "phone",
            "rationale": "Found phone.",
            "created_at": body["flags"][0]["created_at"],
        }
    ]


def test_a_broker_outage_at_ingestion_loses_nothing(
    ingest_client: APIClient,
    project: Project,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    from annotation.tasks.checks import run_checks

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(run_checks, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(
            "/api/v1/interactions",
            {"request_id": "req-1", "prompt": "Hi", "response": "kim@example.org"},
            format="json",
        )
    assert response.status_code == 201
    assert Interaction.objects.get().checked_at is None
    monkeypatch.undo()

    from datetime import timedelta

    assert checks_sweep(older_than=timedelta(0)) == 1

    assert Interaction.objects.get().checked_at is not None
    assert Flag.objects.get().check_config.name == "pii"


def test_the_judge_records_every_verdict_with_its_cost(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    polite = InteractionFactory(project=project, response="Happy to help!")
    rude = InteractionFactory(project=project, response="Figure it out yourself.")
    judge_server.enqueue(GOOD, prompt_tokens=100, completion_tokens=20)
    judge_server.enqueue(RUDE, prompt_tokens=100, completion_tokens=20)

    assert evaluator_run(check_id=judge.pk, interaction_ids=ids(polite, rude)).stored == 2

    by_interaction = {f.interaction_id: f for f in Flag.objects.filter(check_config=judge)}
    assert not by_interaction[polite.pk].flagged
    assert by_interaction[polite.pk].score == pytest.approx(0.9)
    assert by_interaction[rude.pk].score == pytest.approx(0.1)
    assert by_interaction[rude.pk].flagged
    assert by_interaction[rude.pk].label == "rude"
    assert by_interaction[rude.pk].rationale == "Insults the user."
    sent = judge_server.chat_requests[0]["messages"][1]["content"]
    assert "Happy to help!" in sent and "How do I reset it?" in sent
    judge.refresh_from_db()
    assert judge.evaluator_calls == 2
    assert judge.evaluator_prompt_tokens == 200 and judge.evaluator_completion_tokens == 40
    assert judge.evaluator_cost == pytest.approx(2 * (0.1 + 0.04))


def test_malformed_judge_output_becomes_an_evaluator_error_flag(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    item = InteractionFactory(project=project)
    judge_server.enqueue("I think it is fine, 8/10.")

    evaluator_run(check_id=judge.pk, interaction_ids=ids(item))

    flag = Flag.objects.get(check_config=judge)
    assert flag.label == "evaluator_error"
    assert flag.severity == 10
    assert "8/10" in flag.rationale


def test_the_judge_retries_a_429_then_succeeds(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    item = InteractionFactory(project=project)
    judge_server.enqueue_status(429, retry_after=0)
    judge_server.enqueue(RUDE)

    run_evaluator.delay(judge.pk, ids(item))

    assert Flag.objects.get(check_config=judge).label == "rude"
    assert len(judge_server.chat_requests) == 2


def test_a_judge_that_times_out_is_recorded_as_unavailable(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    item = InteractionFactory(project=project)
    for _ in range(3):
        judge_server.enqueue_delay(3)

    run_evaluator.delay(judge.pk, ids(item))

    assert Flag.objects.get(check_config=judge).label == "evaluator_unavailable"
    assert len(judge_server.chat_requests) == 3  # the first try and JUDGE_MAX_RETRIES (2) more


def test_evaluators_are_sampled_deterministically(
    project: Project, judge: Check, judge_server: FakeOpenAI
) -> None:
    from annotation.checks.evaluators import sampled

    judge.sample_rate = 0.3
    judge.save()
    items = [InteractionFactory(project=project) for _ in range(40)]

    checks_run(project_id=project.pk, interaction_ids=ids(*items))

    expected = {i.pk for i in items if sampled(judge.pk, i.pk, 0.3)}
    assert (
        set(Flag.objects.filter(check_config=judge).values_list("interaction_id", flat=True))
        == expected
    )
    assert 0 < len(expected) < 40


def test_a_python_evaluator_runs_locally(project: Project, settings: Any) -> None:
    settings.EVALUATORS = {"calm": "tests.fakes.evaluators:shouting"}
    check = check_save(
        project=project,
        name="calm",
        check_type="python",
        parameters={"evaluator": "calm"},
    )
    loud = InteractionFactory(project=project, response="READ THE MANUAL")
    calm = InteractionFactory(project=project, response="See the manual, page 3.")

    checks_run(project_id=project.pk, interaction_ids=ids(loud, calm))

    flags = {f.interaction_id: f for f in Flag.objects.filter(check_config=check)}
    assert flags[loud.pk].flagged and flags[loud.pk].label == "shouting"
    assert not flags[calm.pk].flagged


def test_a_broken_python_evaluator_is_an_error_flag_not_a_crash(
    project: Project, settings: Any
) -> None:
    settings.EVALUATORS = {"broken": "tests.fakes.evaluators:broken"}
    check = check_save(
        project=project,
        name="broken",
        check_type="python",
        parameters={"evaluator": "broken"},
    )
    item = InteractionFactory(project=project)

    checks_run(project_id=project.pk, interaction_ids=ids(item))

    assert Flag.objects.get(check_config=check).label == "evaluator_error"


def test_a_redelivered_task_does_not_check_twice(project: Project) -> None:
    leaky = InteractionFactory(project=project, response="kim@example.org")
    checks_run(project_id=project.pk, interaction_ids=ids(leaky))

    again = checks_run(project_id=project.pk, interaction_ids=ids(leaky))

    assert again.checked == 0
    assert Flag.objects.filter(interaction=leaky).count() == 1
