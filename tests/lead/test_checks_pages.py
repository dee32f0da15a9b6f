"""Checks managed by a project's leads inside the app: list, create, edit, disable."""

from __future__ import annotations

import json

import pytest

from annotation.models import Check, Project
from tests.conftest import Persona
from tests.lead.conftest import HTMX
from tests.workspace.conftest import browser


def test_the_list_shows_each_check(project: Project, lead: Persona) -> None:
    page = browser(lead).get(f"/lead/projects/{project.name}/checks").content.decode()

    for name in ("pii", "blocklist", "format"):  # every project starts with these
        assert f'data-check="{name}"' in page


def test_a_lead_creates_a_blocklist_check(project: Project, lead: Persona) -> None:
    response = browser(lead).post(
        f"/lead/projects/{project.name}/checks/new",
        {
            "name": "secrets",
            "type": "blocklist",
            "severity": "30",
            "sample_rate": "1",
            "enabled": "on",
            "parameters": json.dumps({"terms": ["project zeus"], "include_defaults": False}),
        },
    )

    assert response.status_code == 302
    check = Check.objects.get(project=project, name="secrets")
    assert check.type == "blocklist" and check.severity == 30 and check.enabled
    assert check.parameters["terms"] == ["project zeus"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"parameters": "{nope"}, "Not valid JSON"),
        ({"parameters": json.dumps({"colour": "red"})}, "colour"),
        ({"sample_rate": "1.5"}, "1.5 is outside (0, 1]"),
        ({"name": "pii"}, "already has a check named"),
        ({"type": "python", "parameters": json.dumps({"evaluator": "os.system"})}, "evaluator"),
    ],
)
def test_a_refused_check_comes_back_with_the_problem_on_its_field(
    project: Project, lead: Persona, fields: dict[str, str], message: str
) -> None:
    data = {"name": "mine", "type": "blocklist", "severity": "20", "sample_rate": "1", **fields}

    response = browser(lead).post(f"/lead/projects/{project.name}/checks/new", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Check.objects.filter(project=project, name="mine").exists()


def test_a_lead_edits_a_check(project: Project, lead: Persona) -> None:
    check = Check.objects.get(project=project, name="format")
    client = browser(lead)
    form = client.get(f"/lead/projects/{project.name}/checks/{check.pk}").content.decode()

    response = client.post(
        f"/lead/projects/{project.name}/checks/{check.pk}",
        {
            "name": "format",
            "type": "format",
            "severity": "10",
            "sample_rate": "0.5",
            "enabled": "on",
            "parameters": json.dumps({"max_chars": 500}),
        },
    )

    assert 'value="format"' in form
    assert response.status_code == 302
    check.refresh_from_db()
    assert (check.severity, check.sample_rate, check.parameters["max_chars"]) == (10, 0.5, 500)


def test_disable_and_enable_in_place(project: Project, lead: Persona) -> None:
    check = Check.objects.get(project=project, name="pii")
    client = browser(lead)

    off = client.post(f"/lead/projects/{project.name}/checks/{check.pk}/toggle", **HTMX)
    check.refresh_from_db()
    assert not check.enabled
    assert off.content.decode().lstrip().startswith(f'<tr id="check-{check.pk}"')
    assert 'data-enabled="false"' in off.content.decode()

    on = client.post(f"/lead/projects/{project.name}/checks/{check.pk}/toggle")
    check.refresh_from_db()
    assert check.enabled and on.status_code == 302


def test_another_projects_check_is_not_found(
    project: Project, lead: Persona, outsider: Persona
) -> None:
    theirs = Check.objects.get(project__name="other-bot", name="pii")
    mine = Check.objects.get(project=project, name="pii")

    through_mine = browser(lead).post(f"/lead/projects/{project.name}/checks/{theirs.pk}/toggle")
    from_outside = browser(outsider).post(f"/lead/projects/{project.name}/checks/{mine.pk}/toggle")

    assert through_mine.status_code == from_outside.status_code == 404
    assert Check.objects.get(pk=theirs.pk).enabled and Check.objects.get(pk=mine.pk).enabled


@pytest.mark.parametrize("who", ["engineer", "annotator"])
def test_other_members_get_403(project: Project, request: pytest.FixtureRequest, who: str) -> None:
    client = browser(request.getfixturevalue(who))
    check = Check.objects.get(project=project, name="pii")

    assert client.get(f"/lead/projects/{project.name}/checks").status_code == 403
    assert client.post(f"/lead/projects/{project.name}/checks/{check.pk}/toggle").status_code == 403
    assert Check.objects.get(pk=check.pk).enabled


def test_the_type_fields_make_the_parameters(project: Project, lead: Persona) -> None:
    response = browser(lead).post(
        f"/lead/projects/{project.name}/checks/new",
        {
            "name": "words",
            "type": "blocklist",
            "severity": "20",
            "sample_rate": "1",
            "enabled": "on",
            "blocklist_terms": "project zeus\n\n  launch date  \n",
            # Fields of other types are ignored.
            "judge_rubric": "ignored",
        },
    )

    assert response.status_code == 302
    check = Check.objects.get(project=project, name="words")
    assert check.parameters["terms"] == ["project zeus", "launch date"]
    assert check.parameters["include_defaults"] is False  # an unticked box
    assert "rubric" not in check.parameters


def test_a_parameter_problem_is_shown_on_its_field(project: Project, lead: Persona) -> None:
    response = browser(lead).post(
        f"/lead/projects/{project.name}/checks/new",
        {
            "name": "shape",
            "type": "format",
            "severity": "20",
            "sample_rate": "1",
            "format_deny_patterns": "ok\n(unclosed",
        },
    )

    html = response.content.decode()
    assert response.status_code == 400
    error = html[html.index('data-error-for="format_deny_patterns"') :]
    assert error.split("</p>")[0].count("deny_patterns[1]") == 1
    assert not Check.objects.filter(name="shape").exists()


def test_the_edit_form_shows_the_parameters_in_their_fields(
    project: Project, lead: Persona
) -> None:
    check = Check.objects.get(project=project, name="blocklist")
    check.parameters = {"terms": ["alpha", "beta"], "include_defaults": True, "scan_prompt": False}
    check.save()

    html = browser(lead).get(f"/lead/projects/{project.name}/checks/{check.pk}").content.decode()

    assert "alpha\nbeta</textarea>" in html
    assert 'data-check-section="blocklist"' in html and "js/check-form.js" in html
    assert 'name="parameters"' in html
