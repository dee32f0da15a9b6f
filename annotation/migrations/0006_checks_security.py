"""Evaluator flags keep the evaluator's own score; python checks name an allow-listed evaluator.

Until now an evaluator flag stored 1 - the evaluator's score and a failed evaluation stored 0.0;
from here on it is the evaluator's score itself (what the `uncertain` band compares with) and no
score at all for a failed evaluation. Python checks that named a dotted path (`callable`) are
pointed at the EVALUATORS entry with the same target when there is one, and disabled otherwise:
a path from a request is never imported again.
"""

from typing import Any

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Value

EVALUATOR_TYPES = ("llm_judge", "python")
ERROR_LABELS = ("evaluator_error", "evaluator_unavailable", "evaluator_auth")


def _evaluator_flags(apps: Any) -> Any:
    Flag = apps.get_model("annotation", "Flag")
    return Flag.objects.filter(check_config__type__in=EVALUATOR_TYPES)


def scores_to_evaluator_scale(apps: Any, schema_editor: Any) -> None:
    flags = _evaluator_flags(apps)
    flags.filter(label__in=ERROR_LABELS).update(score=None)
    flags.exclude(label__in=ERROR_LABELS).update(score=Value(1.0) - F("score"))


def scores_to_problem_scale(apps: Any, schema_editor: Any) -> None:
    flags = _evaluator_flags(apps)
    flags.filter(score__isnull=True).update(score=0.0)
    flags.exclude(label__in=ERROR_LABELS).update(score=Value(1.0) - F("score"))


def _target(path: str) -> str:
    path = path.strip()
    if ":" in path:
        return path
    module, _, name = path.rpartition(".")
    return f"{module}:{name}"


def python_checks_to_allow_list(apps: Any, schema_editor: Any) -> None:
    Check = apps.get_model("annotation", "Check")
    by_target = {target: name for name, target in getattr(settings, "EVALUATORS", {}).items()}
    for check in Check.objects.filter(type="python"):
        parameters = dict(check.parameters or {})
        if "callable" not in parameters:
            continue
        name = by_target.get(_target(str(parameters["callable"])))
        if name is None:
            # Kept for the lead to see and repoint; it does not run until they do.
            check.enabled = False
        else:
            del parameters["callable"]
            parameters["evaluator"] = name
            check.parameters = parameters
        check.save(update_fields=["parameters", "enabled"])


class Migration(migrations.Migration):
    dependencies = [("annotation", "0005_feedback_id")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AlterField(
            model_name="flag",
            name="score",
            field=models.FloatField(
                blank=True,
                help_text=(
                    "Rule checks: 1 for a hit. Evaluators: their own score from 0 to 1 (1 means the "
                    "response fully meets the rubric); empty when the evaluation failed."
                ),
                null=True,
            ),
        ),
        migrations.RunPython(scores_to_evaluator_scale, scores_to_problem_scale),
        migrations.RunPython(python_checks_to_allow_list, migrations.RunPython.noop),
    ]
