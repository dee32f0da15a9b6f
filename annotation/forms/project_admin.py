"""The forms of a project's everyday administration by its leads: members and checks.

They parse what was typed; the services (`services.members`, `services.check_config`) decide
whether it makes sense, and their errors come back on the fields they name.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from annotation.checks.config import (
    BlocklistParams,
    FormatParams,
    PiiParams,
    params_as_dict,
)
from annotation.models import Check, CheckType, Role, Severity
from annotation.schemas.safe_json import UnsafeJson, json_loads_safe

MAX_PARAMETERS_CHARS = 200_000

# What the parameters of each check type look like, shown beside the form.
PARAMETER_EXAMPLES: dict[str, dict[str, Any]] = {
    CheckType.PII: params_as_dict(PiiParams()),
    CheckType.BLOCKLIST: {**params_as_dict(BlocklistParams()), "terms": ["confidential"]},
    CheckType.FORMAT: params_as_dict(FormatParams()),
    CheckType.LLM_JUDGE: {
        "rubric": "Does the response answer the question politely and correctly?",
        "threshold": 0.5,
        "model": None,
    },
    CheckType.PYTHON: {"evaluator": "name from the EVALUATORS setting", "threshold": 0.5},
}


def parameter_examples() -> list[tuple[str, str, str]]:
    """(type, label, example JSON) for the help beside the check form."""
    return [
        (value, label, json.dumps(PARAMETER_EXAMPLES[value], indent=2))
        for value, label in CheckType.choices
    ]


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An existing account's username.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class CheckForm(forms.Form):
    name = forms.SlugField(
        max_length=64, help_text="Letters, digits, - and _; queue sources name checks by it."
    )
    type = forms.ChoiceField(choices=CheckType.choices)
    severity = forms.TypedChoiceField(
        choices=Severity.choices, coerce=int, initial=Severity.WARNING
    )
    sample_rate = forms.FloatField(
        initial=1.0,
        help_text="Share of interactions checked, in (0, 1]; rules usually check every one.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    parameters = forms.CharField(
        required=False,
        label="Parameters (JSON)",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"}),
        help_text="Empty: the type's defaults. See the examples beside the form.",
    )

    def clean_sample_rate(self) -> float:
        rate: float = self.cleaned_data["sample_rate"]
        if not 0 < rate <= 1:
            raise ValidationError(f"{rate} is outside (0, 1]; e.g. 0.1 checks one in ten.")
        return rate

    def clean_parameters(self) -> Any:
        text = str(self.cleaned_data["parameters"]).strip()
        if not text:
            return {}
        if len(text) > MAX_PARAMETERS_CHARS:
            raise ValidationError(
                f"{len(text):,} characters; use at most {MAX_PARAMETERS_CHARS:,}."
            )
        try:
            value = json_loads_safe(text)
        except UnsafeJson as error:
            raise ValidationError(str(error)) from None
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from None
        except ValueError as error:
            raise ValidationError(f"Not valid JSON: {error}.") from None
        if not isinstance(value, dict):
            raise ValidationError('Give an object, e.g. {"terms": ["confidential"]}.')
        return value


def check_initial(check: Check) -> dict[str, Any]:
    return {
        "name": check.name,
        "type": check.type,
        "severity": check.severity,
        "sample_rate": check.sample_rate,
        "enabled": check.enabled,
        "parameters": json.dumps(check.parameters, indent=2) if check.parameters else "",
    }
