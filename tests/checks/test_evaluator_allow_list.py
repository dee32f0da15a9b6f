"""A `python` check names an evaluator from settings.EVALUATORS; nothing a request says is imported."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from annotation.models import Check, Flag, Project
from annotation.services.check_config import check_save
from annotation.services.checks import checks_run
from feedbackloop.env import env_evaluators
from tests.conftest import Persona
from tests.factories import InteractionFactory

SHELL_PATHS = ["os.popen", "subprocess.getoutput", "shutil.copyfile", "builtins.exec"]
ALLOWED = {"calm": "tests.fakes.evaluators:shouting", "graded": "tests.fakes.evaluators:graded"}


@pytest.fixture(autouse=True)
def _evaluators(settings: Any) -> None:
    settings.EVALUATORS = dict(ALLOWED)


@pytest.fixture
def calm(project: Project) -> Check:
    return check_save(
        project=project, name="calm", check_type="python", parameters={"evaluator": "calm"}
    )


def _post(persona: Persona, parameters: dict[str, Any]) -> Any:
    return persona.client().post(
        "/api/v1/checks",
        {"project": "support-bot", "name": "evil", "type": "python", "parameters": parameters},
        format="json",
    )


@pytest.mark.parametrize("path", SHELL_PATHS)
def test_it_refuses_a_dotted_path_as_callable_through_the_api(lead: Persona, path: str) -> None:
    response = _post(lead, {"callable": path})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_check"
    assert error["details"]["field"] == "parameters.callable"
    assert "evaluator" in error["details"]["message"]
    assert not Check.objects.filter(name="evil").exists()


@pytest.mark.parametrize("path", SHELL_PATHS)
def test_it_refuses_a_dotted_path_as_evaluator_through_the_api(lead: Persona, path: str) -> None:
    response = _post(lead, {"evaluator": path})

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details["field"] == "parameters.evaluator"
    assert "allowed: calm, graded" in details["message"]
    assert not Check.objects.filter(name="evil").exists()


@pytest.mark.parametrize("path", SHELL_PATHS)
def test_it_refuses_a_dotted_path_in_a_patch(lead: Persona, calm: Check, path: str) -> None:
    client = lead.client()

    as_callable = client.patch(
        f"/api/v1/checks/{calm.pk}", {"parameters": {"callable": path}}, format="json"
    )
    as_evaluator = client.patch(
        f"/api/v1/checks/{calm.pk}", {"parameters": {"evaluator": path}}, format="json"
    )

    assert as_callable.status_code == 400
    assert as_callable.json()["error"]["details"]["field"] == "parameters.callable"
    assert as_evaluator.status_code == 400
    assert as_evaluator.json()["error"]["details"]["field"] == "parameters.evaluator"
    calm.refresh_from_db()
    assert calm.parameters == {"evaluator": "calm", "threshold": 0.5}


def test_a_path_named_by_a_request_is_never_imported(lead: Persona, calm: Check) -> None:
    canary = "tests.fakes.import_canary"
    sys.modules.pop(canary, None)

    _post(lead, {"callable": f"{canary}:boom"})
    _post(lead, {"callable": f"{canary}.boom"})
    _post(lead, {"evaluator": f"{canary}:boom"})
    lead.client().patch(
        f"/api/v1/checks/{calm.pk}", {"parameters": {"callable": f"{canary}:boom"}}, format="json"
    )

    assert canary not in sys.modules


def test_without_evaluators_configured_the_error_says_where_they_come_from(
    lead: Persona, settings: Any
) -> None:
    settings.EVALUATORS = {}

    response = _post(lead, {"evaluator": "calm"})

    assert response.status_code == 400
    assert "EVALUATORS setting" in response.json()["error"]["details"]["message"]


def _admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _admin_add(client: Client, project: Project, parameters: dict[str, Any]) -> Any:
    return client.post(
        "/admin/annotation/check/add/",
        {
            "project": project.pk,
            "name": "evil",
            "type": "python",
            "parameters": json.dumps(parameters),
            "severity": 20,
            "enabled": "on",
            "sample_rate": "1.0",
        },
    )


@pytest.mark.parametrize("path", SHELL_PATHS)
@pytest.mark.parametrize("key", ["callable", "evaluator"])
def test_the_admin_refuses_a_dotted_path_from_a_lead(
    lead: Persona, project: Project, path: str, key: str
) -> None:
    response = _admin_add(_admin_client(lead.user), project, {key: path})

    assert response.status_code == 200  # the form again, with the error
    assert f"parameters.{key}" in response.content.decode()
    assert not Check.objects.filter(name="evil").exists()


@pytest.mark.parametrize("path", SHELL_PATHS)
def test_the_admin_refuses_a_dotted_path_from_a_superuser(project: Project, path: str) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw-0123456789")
    client = _admin_client(root)

    as_callable = _admin_add(client, project, {"callable": path})
    as_evaluator = _admin_add(client, project, {"evaluator": path})

    assert "parameters.callable" in as_callable.content.decode()
    assert "parameters.evaluator" in as_evaluator.content.decode()
    assert not Check.objects.filter(name="evil").exists()


def test_the_admin_saves_an_allowed_evaluator(lead: Persona, project: Project) -> None:
    response = _admin_add(_admin_client(lead.user), project, {"evaluator": "graded"})

    assert response.status_code == 302
    assert Check.objects.get(name="evil").parameters == {"evaluator": "graded", "threshold": 0.5}


def test_an_allowed_evaluator_runs_and_flags(project: Project, calm: Check) -> None:
    loud = InteractionFactory(project=project, response="READ THE MANUAL")
    quiet = InteractionFactory(project=project, response="See the manual, page 3.")

    checks_run(project_id=project.pk, interaction_ids=[loud.pk, quiet.pk])

    flags = {f.interaction_id: f for f in Flag.objects.filter(check_config=calm)}
    assert flags[loud.pk].flagged and flags[loud.pk].label == "shouting"
    assert flags[loud.pk].score == 0.0
    assert not flags[quiet.pk].flagged and flags[quiet.pk].score == 1.0


def test_an_evaluator_taken_out_of_settings_stops_running(
    project: Project, calm: Check, settings: Any
) -> None:
    settings.EVALUATORS = {"graded": ALLOWED["graded"]}
    item = InteractionFactory(project=project, response="READ THE MANUAL")

    checks_run(project_id=project.pk, interaction_ids=[item.pk])

    flag = Flag.objects.get(check_config=calm)
    assert flag.label == "evaluator_unavailable"
    assert flag.score is None
    assert "'calm' is not an allowed evaluator" in flag.rationale


def test_the_setting_reads_names_and_targets() -> None:
    parsed = env_evaluators(
        "EVALUATORS",
        environ={"EVALUATORS": "tone=acme.evals.tone:score, pii-v2=acme.pii:check"},
    )

    assert parsed == {"tone": "acme.evals.tone:score", "pii-v2": "acme.pii:check"}
    assert env_evaluators("EVALUATORS", environ={}) == {}


@pytest.mark.parametrize(
    "value",
    [
        "acme.evals.tone:score",  # no name
        "tone=acme.evals.tone.score",  # no module:function separator
        "tone=acme.evals.tone:score,",  # empty entry
        "tone=os.system:x;rm",  # not a dotted path
        "Tone=acme.evals:score",  # names are lowercase
        "tone=a:b,tone=c:d",  # a name twice
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="EVALUATORS"):
        env_evaluators("EVALUATORS", environ={"EVALUATORS": value})


def test_the_migration_points_old_python_checks_at_the_allow_list(
    project: Project, settings: Any
) -> None:
    migration = importlib.import_module("annotation.migrations.0006_checks_security")
    known = Check.objects.create(
        project=project,
        name="known",
        type="python",
        parameters={"callable": "tests.fakes.evaluators.graded", "threshold": 0.3},
    )
    unknown = Check.objects.create(
        project=project, name="unknown", type="python", parameters={"callable": "os.popen"}
    )

    migration.python_checks_to_allow_list(django_apps, None)

    known.refresh_from_db()
    unknown.refresh_from_db()
    assert known.parameters == {"evaluator": "graded", "threshold": 0.3} and known.enabled
    assert not unknown.enabled


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"deny_patterns": ["ok", "a\u0000b"]}, "parameters.deny_patterns[1]"),
        ({"json_templates": {"t": {"pattern": "\ud800"}}}, "parameters.json_templates.t.pattern"),
    ],
)
def test_the_admin_refuses_unstorable_text_in_parameters(
    lead: Persona, project: Project, parameters: dict[str, Any], field: str
) -> None:
    response = _admin_client(lead.user).post(
        "/admin/annotation/check/add/",
        {
            "project": project.pk,
            "name": "fmt",
            "type": "format",
            "parameters": json.dumps(parameters),
            "severity": 20,
            "enabled": "on",
            "sample_rate": "1.0",
        },
    )

    assert response.status_code == 200
    assert field in response.content.decode()
    assert not Check.objects.filter(name="fmt").exists()
