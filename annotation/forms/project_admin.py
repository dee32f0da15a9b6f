"""The forms of a project's everyday administration by its leads: members and checks.

They parse what was typed; the services (`services.members`, `services.check_config`) decide
whether it makes sense, and their errors come back on the fields they name.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from annotation.checks.config import (
    BlocklistParams,
    FormatParams,
    PiiParams,
    params_as_dict,
)
from annotation.checks.detectors import PII_KINDS
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


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# The structured fields of each check type: (form field, parameter key, kind).
TYPE_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    CheckType.PII: (
        ("pii_kinds", "kinds", "list"),
        ("pii_scan_prompt", "scan_prompt", "bool"),
        ("pii_region", "region", "text"),
    ),
    CheckType.BLOCKLIST: (
        ("blocklist_terms", "terms", "lines"),
        ("blocklist_include_defaults", "include_defaults", "bool"),
        ("blocklist_scan_prompt", "scan_prompt", "bool"),
    ),
    CheckType.FORMAT: (
        ("format_empty", "empty", "bool"),
        ("format_max_chars", "max_chars", "number"),
        ("format_refusal", "refusal", "bool"),
        ("format_truncation", "truncation", "bool"),
        ("format_language", "language", "text"),
        ("format_deny_patterns", "deny_patterns", "lines"),
    ),
    CheckType.LLM_JUDGE: (
        ("judge_rubric", "rubric", "text"),
        ("judge_threshold", "threshold", "number"),
        ("judge_model", "model", "text"),
    ),
    CheckType.PYTHON: (
        ("python_evaluator", "evaluator", "text"),
        ("python_threshold", "threshold", "number"),
    ),
}
FIELD_OF_PARAMETER = {
    (kind, key): name for kind, fields in TYPE_FIELDS.items() for name, key, _ in fields
}


class CheckForm(forms.Form):
    name = forms.SlugField(
        max_length=64, help_text="Letters, digits, - and _; queue sources name checks by it."
    )
    type = forms.ChoiceField(
        choices=CheckType.choices, widget=forms.Select(attrs={"data-check-type": ""})
    )
    severity = forms.TypedChoiceField(
        choices=Severity.choices, coerce=int, initial=Severity.WARNING
    )
    sample_rate = forms.FloatField(
        initial=1.0,
        help_text="Share of interactions checked, in (0, 1]; rules usually check every one.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    # pii
    pii_kinds = forms.MultipleChoiceField(
        required=False,
        label="Kinds of personal data",
        choices=[(kind, kind) for kind in PII_KINDS],
        initial=list(PII_KINDS),
        widget=forms.CheckboxSelectMultiple,
    )
    pii_scan_prompt = forms.BooleanField(required=False, label="Scan the prompt too")
    pii_region = forms.CharField(
        required=False, initial="US", max_length=2, label="Phone region", help_text="e.g. US, GB."
    )
    # blocklist
    blocklist_terms = forms.CharField(
        required=False,
        label="Blocked terms",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line.",
    )
    blocklist_include_defaults = forms.BooleanField(
        required=False, initial=True, label="Also the built-in terms"
    )
    blocklist_scan_prompt = forms.BooleanField(required=False, label="Scan the prompt too")
    # format
    format_empty = forms.BooleanField(required=False, initial=True, label="Flag empty responses")
    format_max_chars = forms.IntegerField(
        required=False, initial=20_000, min_value=1, label="Longest response (characters)"
    )
    format_refusal = forms.BooleanField(required=False, initial=True, label="Flag refusals")
    format_truncation = forms.BooleanField(
        required=False, initial=True, label="Flag truncated responses"
    )
    format_language = forms.CharField(
        required=False, max_length=5, label="Expected language", help_text="e.g. en or en-GB."
    )
    format_deny_patterns = forms.CharField(
        required=False,
        label="Denied patterns",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="Regular expressions (RE2, linear time), one a line.",
    )
    # llm_judge
    judge_rubric = forms.CharField(
        required=False,
        label="Rubric",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What a good response does; the judge scores how well it meets it.",
    )
    judge_threshold = forms.FloatField(
        required=False, initial=0.5, label="Flag below", help_text="A score from 0 to 1."
    )
    judge_model = forms.CharField(
        required=False, label="Model", help_text="Empty: the judge endpoint's default."
    )
    # python
    python_evaluator = forms.ChoiceField(required=False, label="Evaluator")
    python_threshold = forms.FloatField(
        required=False, initial=0.5, label="Flag below", help_text="A score from 0 to 1."
    )
    parameters = forms.CharField(
        required=False,
        label="Parameters (JSON, advanced)",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text="When given, these parameters are used instead of the fields above (e.g. a "
        "format check's json_templates). See the examples beside the form.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        evaluator: forms.ChoiceField = self.fields["python_evaluator"]  # type: ignore[assignment]
        names = sorted(getattr(settings, "EVALUATORS", {}) or {})
        evaluator.choices = [("", "—"), *((name, name) for name in names)]
        if not names:
            evaluator.help_text = "None are configured: the operator lists them in EVALUATORS."

    def fields_of(self, check_type: str) -> list[Any]:
        """The bound fields of one type, for the template."""
        return [self[name] for name, _, _ in TYPE_FIELDS.get(check_type, ())]

    def type_sections(self) -> list[tuple[str, str, list[Any]]]:
        return [(value, label, self.fields_of(value)) for value, label in CheckType.choices]

    def clean_sample_rate(self) -> float:
        rate: float = self.cleaned_data["sample_rate"]
        if not 0 < rate <= 1:
            raise ValidationError(f"{rate} is outside (0, 1]; e.g. 0.1 checks one in ten.")
        return rate

    def clean_parameters(self) -> Any:
        text = str(self.cleaned_data["parameters"]).strip()
        if not text:
            return None
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

    def parameters_value(self) -> dict[str, Any]:
        """The parameters to save: the JSON when given, else the type's fields."""
        data = self.cleaned_data
        if data.get("parameters") is not None:
            return dict(data["parameters"])
        parameters: dict[str, Any] = {}
        for name, key, kind in TYPE_FIELDS.get(data.get("type", ""), ()):
            value = data.get(name)
            if kind == "lines":
                parameters[key] = _lines(value or "")
            elif kind == "list":
                parameters[key] = list(value or [])
            elif kind == "bool":
                parameters[key] = bool(value)
            elif value not in (None, ""):
                parameters[key] = value.strip() if isinstance(value, str) else value
        return parameters

    def add_parameter_error(self, place: str, message: str) -> None:
        """A service error on `parameters.key` goes to that key's field, else to the JSON box."""
        key = place.split(".", 1)[1].split(".", 1)[0].split("[", 1)[0] if "." in place else ""
        kind = self.cleaned_data.get("type", "")
        name = FIELD_OF_PARAMETER.get((kind, key))
        if name and self.cleaned_data.get("parameters") is None:
            rest = place.split(".", 1)[1]
            self.add_error(name, f"{rest}: {message}" if rest != key else message)
        else:
            self.add_error("parameters", f"{place}: {message}")


def check_initial(check: Check) -> dict[str, Any]:
    """The form's values for a check: its parameters in the type's fields, or as JSON when some
    of them have no field (a format check's json_templates, a judge's timeout)."""
    initial: dict[str, Any] = {
        "name": check.name,
        "type": check.type,
        "severity": check.severity,
        "sample_rate": check.sample_rate,
        "enabled": check.enabled,
    }
    parameters = check.parameters if isinstance(check.parameters, dict) else {}
    fields = TYPE_FIELDS.get(check.type, ())
    known = {key for _, key, _ in fields}
    extra = {k: v for k, v in parameters.items() if k not in known and v not in (None, {}, [])}
    if extra:
        initial["parameters"] = json.dumps(parameters, indent=2)
        return initial
    for name, key, kind in fields:
        if key not in parameters:
            continue
        value = parameters[key]
        initial[name] = (
            "\n".join(map(str, value)) if kind == "lines" and isinstance(value, list) else value
        )
    return initial
