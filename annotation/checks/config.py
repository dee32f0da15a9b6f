"""Check parameters per type, validated when a check is saved rather than when it runs."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import phonenumbers
from django.conf import settings

from annotation.checks.detectors import PII_KINDS, validate_json_schema, validate_regex
from annotation.checks.judge import validate_rubric
from annotation.models import CheckType
from annotation.schemas.decoding import field_and_message
from annotation.schemas.safe_json import json_problem

Rate = Annotated[float, msgspec.Meta(ge=0, le=1)]
Terms = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]], msgspec.Meta(max_length=5000)
]


class CheckConfigError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class PiiParams(msgspec.Struct, forbid_unknown_fields=True):
    kinds: list[str] = msgspec.field(default_factory=lambda: list(PII_KINDS))
    scan_prompt: bool = False
    region: str = "US"


class BlocklistParams(msgspec.Struct, forbid_unknown_fields=True):
    terms: Terms = msgspec.field(default_factory=list)
    include_defaults: bool = True
    scan_prompt: bool = False


class FormatParams(msgspec.Struct, forbid_unknown_fields=True):
    empty: bool = True
    max_chars: Annotated[int, msgspec.Meta(ge=1)] | None = 20_000
    # prompt_template -> JSON Schema (or null for "any JSON"): responses to these must be JSON.
    json_templates: dict[str, dict[str, Any] | None] = msgspec.field(default_factory=dict)
    refusal: bool = True
    refusal_phrases: Terms | None = None
    truncation: bool = True
    language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")] | None = None
    # Run on RE2 (linear time); validate_regex also bounds each pattern's length.
    deny_patterns: Annotated[list[str], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )


class JudgeParams(msgspec.Struct, forbid_unknown_fields=True):
    rubric: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    # The judge's score says how well the response meets the rubric; below this it is flagged.
    threshold: Rate = 0.5
    model: str | None = None
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] | None = None
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None


class PythonParams(msgspec.Struct, forbid_unknown_fields=True):
    # A key of settings.EVALUATORS, never a path: only the operator decides what code runs.
    evaluator: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    # The evaluator's score says how well the response meets its criterion; below this it is
    # flagged.
    threshold: Rate = 0.5


AnyParams = PiiParams | BlocklistParams | FormatParams | JudgeParams | PythonParams

PARAMS: dict[str, type[AnyParams]] = {
    CheckType.PII: PiiParams,
    CheckType.BLOCKLIST: BlocklistParams,
    CheckType.FORMAT: FormatParams,
    CheckType.LLM_JUDGE: JudgeParams,
    CheckType.PYTHON: PythonParams,
}


def parse_params(check_type: str, parameters: Any) -> AnyParams:
    """Decode and validate parameters for `check_type`; raise CheckConfigError naming the field.

    This does not touch the network; `annotation.services.checks` also checks that a judge
    endpoint answers before saving an LLM judge.
    """
    if check_type not in PARAMS:
        raise CheckConfigError(
            "type", f"unknown check type '{check_type}'; use one of {', '.join(PARAMS)}"
        )
    if check_type == CheckType.PYTHON and isinstance(parameters, dict) and "callable" in parameters:
        raise CheckConfigError(
            "parameters.callable",
            "a python check no longer takes a dotted path; name an allowed evaluator with "
            f"`evaluator` instead ({_allowed_evaluators()})",
        )
    # Text PostgreSQL cannot store (NUL, a lone surrogate) or absurd nesting, named by its path,
    # whichever way the parameters came in (API, admin form, a service call).
    problem = json_problem(parameters, path="parameters", depth=1)
    if problem is not None:
        raise CheckConfigError(problem.field, problem.message)
    try:
        params: AnyParams = msgspec.convert(parameters or {}, PARAMS[check_type])
    except msgspec.ValidationError as exc:
        field, message = field_and_message(exc)
        raise CheckConfigError(f"parameters.{field}" if field else "parameters", message) from None
    _validate(params)
    return params


def _validate(params: msgspec.Struct) -> None:
    if isinstance(params, PiiParams):
        unknown = sorted(set(params.kinds) - set(PII_KINDS))
        if unknown:
            raise CheckConfigError(
                "parameters.kinds",
                f"unknown kinds {unknown}; use any of {', '.join(PII_KINDS)}",
            )
        if params.region not in phonenumbers.SUPPORTED_REGIONS:
            raise CheckConfigError(
                "parameters.region", f"'{params.region}' is not a phone region like US or GB"
            )
    elif isinstance(params, FormatParams):
        for template, schema in params.json_templates.items():
            if schema is not None:
                try:
                    validate_json_schema(schema)
                except ValueError as exc:
                    raise CheckConfigError(
                        f"parameters.json_templates.{template}", str(exc)
                    ) from None
        for index, pattern in enumerate(params.deny_patterns):
            try:
                validate_regex(pattern)
            except ValueError as exc:
                raise CheckConfigError(f"parameters.deny_patterns[{index}]", str(exc)) from None
    elif isinstance(params, JudgeParams):
        try:
            validate_rubric(params.rubric)
        except ValueError as exc:
            raise CheckConfigError("parameters.rubric", str(exc)) from None
    elif isinstance(params, PythonParams) and params.evaluator not in settings.EVALUATORS:
        # Membership in the allow-list is all a request can influence; the target itself is
        # imported only from settings, when the check runs.
        raise CheckConfigError(
            "parameters.evaluator",
            f"{params.evaluator!r} is not an allowed evaluator; {_allowed_evaluators()}",
        )


def _allowed_evaluators() -> str:
    names = sorted(settings.EVALUATORS)
    if not names:
        return "none are configured: the operator lists them in the EVALUATORS setting"
    return f"allowed: {', '.join(names)} (the EVALUATORS setting)"


def params_as_dict(params: AnyParams) -> dict[str, Any]:
    builtins: dict[str, Any] = msgspec.to_builtins(params)
    return builtins


DEFAULT_CHECKS: list[tuple[str, str, int]] = [
    # (name, type, severity): what a new project checks without any configuration.
    ("pii", CheckType.PII, 30),
    ("blocklist", CheckType.BLOCKLIST, 20),
    ("format", CheckType.FORMAT, 20),
]
