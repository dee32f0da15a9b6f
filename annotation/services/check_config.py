"""Saving check configurations: everything that could fail at run time is refused here."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation.checks.config import CheckConfigError, JudgeParams, params_as_dict, parse_params
from annotation.checks.evaluators import judge_config
from annotation.checks.judge import JudgeClient, JudgeError
from annotation.models import Check, CheckType, Project, Severity
from annotation.models.audit import AuditAction
from annotation.services.audit import audit_record


def _severity(value: Any) -> int:
    if isinstance(value, str):
        try:
            return Severity.from_name(value)
        except ValueError as exc:
            raise CheckConfigError("severity", str(exc)) from None
    if value in Severity.values:
        return int(value)
    raise CheckConfigError("severity", "use info, warning or critical")


def check_validate(*, check_type: str, parameters: Any) -> dict[str, Any]:
    """Validate `parameters` for `check_type`; for a judge, also that its endpoint answers."""
    params = parse_params(check_type, parameters)
    if isinstance(params, JudgeParams):
        try:
            with JudgeClient(judge_config(params)) as client:
                client.check_reachable()
        except JudgeError as exc:
            raise CheckConfigError(
                "parameters", f"the judge endpoint is not usable: {exc.message}"
            ) from None
    return params_as_dict(params)


def check_save(
    *,
    project: Project,
    name: str,
    check_type: str,
    parameters: Any = None,
    severity: Any = "warning",
    enabled: bool = True,
    sample_rate: float = 1.0,
    check: Check | None = None,
    actor: Any = None,
) -> Check:
    """Create or update a check after validating everything about it (writes one Check row).

    The judge endpoint is probed before the transaction opens, so a slow endpoint never holds a
    database connection in a transaction.
    """
    if check_type not in CheckType.values:
        raise CheckConfigError(
            "type", f"unknown check type '{check_type}'; use one of {', '.join(CheckType.values)}"
        )
    if not 0 < sample_rate <= 1:
        raise CheckConfigError("sample_rate", f"must be in (0, 1], got {sample_rate}")
    level = _severity(severity)
    cleaned = check_validate(check_type=check_type, parameters=parameters)
    with transaction.atomic():
        clash = Check.objects.filter(project=project, name=name)
        if check is not None:
            clash = clash.exclude(pk=check.pk)
        if clash.exists():
            raise CheckConfigError(
                "name", f"project {project.name} already has a check named '{name}'"
            )
        check = check or Check(project=project)
        check.name = name
        check.type = check_type
        check.parameters = cleaned
        check.severity = level
        check.enabled = enabled
        check.sample_rate = sample_rate
        created = check.pk is None
        check.save()
        audit_record(
            actor=actor,
            action=AuditAction.CHECK_CREATED if created else AuditAction.CHECK_CHANGED,
            project=project,
            target=f"check:{check.pk}",
            details={
                "name": name,
                "type": check_type,
                "enabled": enabled,
                "severity": level,
                "sample_rate": sample_rate,
            },
        )
    return check
