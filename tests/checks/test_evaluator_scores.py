"""An evaluator's flag keeps the evaluator's own score: the `uncertain` band, the API and the
workspace all see the number the judge or Python evaluator gave."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.template.loader import render_to_string

from annotation.models import Check, Flag, Interaction, Project, QueueItem
from annotation.selectors.workspace import item_view
from annotation.services.check_config import check_save
from annotation.services.checks import evaluator_run
from annotation.services.queues import queue_fill_now
from tests.conftest import Persona
from tests.factories import FlagFactory, InteractionFactory
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server
from tests.review.conftest import make_queue


@pytest.fixture
def judge_server(settings: Any) -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        settings.JUDGE_BASE_URL = server.base_url
        settings.JUDGE_MODEL = "judge"
        settings.JUDGE_BACKOFF_SECONDS = 0.01
        settings.JUDGE_MAX_RETRIES = 0
        yield server


def _python_check(project: Project, settings: Any) -> Check:
    settings.EVALUATORS = {"graded": "tests.fakes.evaluators:graded"}
    return check_save(
        project=project, name="grader", check_type="python", parameters={"evaluator": "graded"}
    )


def _judge_check(project: Project, server: FakeOpenAI) -> Check:
    server.enqueue('{"score": 0.8, "label": "mostly", "rationale": "Almost complete."}')
    return check_save(
        project=project,
        name="grader",
        check_type="llm_judge",
        parameters={"rubric": "Is this complete? {response}"},
    )


@pytest.fixture(params=["python", "llm_judge"])
def scored_0_8(
    request: pytest.FixtureRequest, project: Project, settings: Any
) -> Iterator[tuple[Check, Interaction]]:
    """One interaction that an evaluator (of either kind) scored 0.8."""
    item = InteractionFactory(project=project, request_id="req-80", response="an answer, grade 0.8")
    if request.param == "python":
        check = _python_check(project, settings)
        evaluator_run(check_id=check.pk, interaction_ids=[item.pk])
        yield check, item
    else:
        with fake_openai_server() as server:
            settings.JUDGE_BASE_URL = server.base_url
            settings.JUDGE_MODEL = "judge"
            check = _judge_check(project, server)
            evaluator_run(check_id=check.pk, interaction_ids=[item.pk])
            yield check, item


def test_the_flag_stores_the_evaluators_own_score(scored_0_8: tuple[Check, Interaction]) -> None:
    check, item = scored_0_8

    flag = Flag.objects.get(check_config=check, interaction=item)

    assert flag.score == pytest.approx(0.8)
    assert not flag.flagged  # 0.8 is above the default threshold of 0.5


@pytest.mark.parametrize(("low", "high", "found"), [(0.75, 0.85, True), (0.15, 0.25, False)])
def test_the_uncertain_band_applies_to_the_evaluators_own_score(
    project: Project,
    annotator: Persona,
    scored_0_8: tuple[Check, Interaction],
    low: float,
    high: float,
    found: bool,
) -> None:
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "uncertain", "checks": ["grader"], "low": low, "high": high}],
    )

    queue_fill_now(queue=queue)

    picked = set(QueueItem.objects.filter(queue=queue).values_list("interaction__request_id"))
    assert picked == ({("req-80",)} if found else set())


def test_the_api_and_the_workspace_show_the_same_score(
    project: Project,
    lead: Persona,
    annotator: Persona,
    scored_0_8: tuple[Check, Interaction],
) -> None:
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "uncertain", "checks": ["grader"], "low": 0.75, "high": 0.85}],
    )
    queue_fill_now(queue=queue)

    body = lead.client().get("/api/v1/interactions/req-80").json()
    html = render_to_string(
        "annotation/includes/item_content.html",
        {"view": item_view(QueueItem.objects.get(queue=queue))},
    )

    assert [(f["check"], f["score"], f["flagged"]) for f in body["flags"]] == [
        ("grader", 0.8, False)
    ]
    assert "<strong>Grader</strong> (passed" in html
    assert "score 0.8)" in html


def test_a_failed_evaluation_has_no_score_and_is_never_uncertain(
    project: Project, annotator: Persona, judge_server: FakeOpenAI
) -> None:
    check = check_save(
        project=project,
        name="grader",
        check_type="llm_judge",
        parameters={"rubric": "Is this complete? {response}"},
    )
    item = InteractionFactory(project=project, request_id="req-broken")
    judge_server.enqueue("not json at all")

    evaluator_run(check_id=check.pk, interaction_ids=[item.pk])
    queue = make_queue(
        project,
        [annotator],
        sources=[{"type": "uncertain", "checks": ["grader"], "low": 0.0, "high": 1.0}],
    )
    queue_fill_now(queue=queue)

    flag = Flag.objects.get(check_config=check)
    assert flag.label == "evaluator_error" and flag.score is None
    assert not QueueItem.objects.filter(queue=queue).exists()


def test_the_migration_turns_stored_flags_into_the_evaluators_scale(project: Project) -> None:
    migration = importlib.import_module("annotation.migrations.0006_checks_security")
    judge = Check.objects.create(project=project, name="judge", type="llm_judge", parameters={})
    old_inverted = FlagFactory(check_config=judge, score=0.2, flagged=False, label="good")
    old_error = FlagFactory(check_config=judge, score=0.0, label="evaluator_unavailable")
    rule = FlagFactory(check_config=project.checks.get(name="pii"), score=1.0)

    migration.scores_to_evaluator_scale(django_apps, None)

    for flag in (old_inverted, old_error, rule):
        flag.refresh_from_db()
    assert old_inverted.score == pytest.approx(0.8)
    assert old_error.score is None
    assert rule.score == 1.0
