"""Lead-supplied regexes (deny patterns, JSON Schema pattern / patternProperties) run on RE2.

The catastrophic pattern below, ``((a+))+x``, took Python's backtracking engine 10 s on 27
characters of ``a`` and four times as long for every two more; on 40 characters it would not
finish in hours. On RE2 each of these answers at once, so these tests only assert the verdict.
"""

from __future__ import annotations

from typing import Any

import pytest

from annotation.checks.rules import compile_rule
from annotation.checks.verdicts import InteractionText
from annotation.models import Check, Flag, Project
from annotation.services.checks import checks_run
from tests.conftest import Persona
from tests.factories import InteractionFactory

EVIL = "((a+))+x"
A40 = "a" * 40


def run(response: str, parameters: dict[str, Any], template: str = "") -> Any:
    item = InteractionText(
        id=1,
        response=response,
        messages=[{"role": "user", "content": "Hi"}],
        prompt_template=template,
    )
    return compile_rule(7, "format", 20, parameters).evaluate(item)


def test_a_catastrophic_deny_pattern_answers_with_the_right_verdict() -> None:
    parameters = {"deny_patterns": [EVIL], "refusal": False}

    assert run(A40, parameters) is None
    denied = run(A40 + "x", parameters)
    assert denied.label == "denied_pattern"
    assert denied.spans == [{"start": 0, "end": 41, "kind": "denied_pattern"}]


def test_a_catastrophic_schema_pattern_answers_with_the_right_verdict() -> None:
    parameters = {"json_templates": {"t": {"type": "string", "pattern": EVIL}}}

    mismatch = run(f'"{A40}"', parameters, template="t")
    assert mismatch.label == "schema_mismatch"
    assert "does not match '((a+))+x'" in mismatch.rationale
    assert run(f'"{A40}x"', parameters, template="t") is None


def test_catastrophic_pattern_properties_answer_with_the_right_verdict() -> None:
    schema = {
        "type": "object",
        "patternProperties": {EVIL: {"type": "integer"}},
        "additionalProperties": False,
    }
    parameters = {"json_templates": {"t": schema}}

    extra = run(f'{{"{A40}": 1}}', parameters, template="t")
    assert extra.label == "schema_mismatch"
    assert "does not match any of the regexes" in extra.rationale
    wrong_type = run(f'{{"{A40}x": "one"}}', parameters, template="t")
    assert "is not of type 'integer'" in wrong_type.rationale
    assert run(f'{{"{A40}x": 1}}', parameters, template="t") is None


def _create(lead: Persona, parameters: dict[str, Any]) -> Any:
    return lead.client().post(
        "/api/v1/checks",
        {"project": "support-bot", "name": "fmt", "type": "format", "parameters": parameters},
        format="json",
    )


@pytest.mark.parametrize(
    ("parameters", "field", "why"),
    [
        ({"deny_patterns": [r"(\w+) \1"]}, "parameters.deny_patterns[0]", "backreferences"),
        ({"deny_patterns": ["x", "(?!ok)no"]}, "parameters.deny_patterns[1]", "lookahead"),
        ({"deny_patterns": ["a" * 1001]}, "parameters.deny_patterns[0]", "the limit is 1000"),
        (
            {"json_templates": {"t": {"properties": {"id": {"pattern": "(?<=#)[0-9]+"}}}}},
            "parameters.json_templates.t",
            "$.properties.id.pattern: Invalid regular expression for RE2",
        ),
        (
            {"json_templates": {"t": {"patternProperties": {r"(a)\1": {}}}}},
            "parameters.json_templates.t",
            "backreferences are not supported",
        ),
        (
            {"json_templates": {"t": {"$ref": "http://169.254.169.254/latest/meta-data"}}},
            "parameters.json_templates.t",
            "points outside this schema",
        ),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_when_saved(
    lead: Persona, parameters: dict[str, Any], field: str, why: str
) -> None:
    response = _create(lead, parameters)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_check"
    assert error["details"]["field"] == field
    assert why in error["details"]["message"]
    assert not Check.objects.filter(name="fmt").exists()


def test_a_catastrophic_pattern_is_accepted_since_it_runs_in_linear_time(lead: Persona) -> None:
    response = _create(lead, {"deny_patterns": [EVIL]})

    assert response.status_code == 201


def test_a_stored_check_that_no_longer_validates_is_skipped_not_fatal(project: Project) -> None:
    # Saved before RE2: a lookbehind the checks can no longer run.
    Check.objects.create(
        project=project, name="old", type="format", parameters={"deny_patterns": ["(?<=a)b"]}
    )
    leaky = InteractionFactory(project=project, response="Mail kim@example.org")

    result = checks_run(project_id=project.pk, interaction_ids=[leaky.pk])

    assert result.checked == 1
    assert set(Flag.objects.values_list("check_config__name", flat=True)) == {"pii"}
