"""The lead's alert-rule form: the API's fields as inputs, turned into the API's body.

The form only shapes what was typed; `annotation.services.alert_rules` validates it as it does
the API's body, and its errors (`condition.value`, `filters.model_version`, ...) land on the
inputs they name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from annotation.alerts.spec import SEVERITIES
from annotation.insights.query import DIMENSIONS
from annotation.models import (
    AlertMetric,
    AlertRule,
    Check,
    ConditionType,
    Project,
    Trigger,
    Webhook,
)

DIMENSION_LABELS = {
    "model": "Model",
    "model_version": "Model version",
    "prompt_template": "Prompt template",
    "prompt_template_version": "Template version",
    "experiment": "Experiment",
    "variant": "Variant",
}
# Where an error the service names belongs in the form.
ERROR_FIELDS = {"condition.type": "condition_type", "condition.value": "condition_value"}
ERROR_FIELDS |= {"condition.direction": "direction", "condition": "condition_value"}
ERROR_FIELDS |= {f"filters.{dim}": f"filter_{dim}" for dim in DIMENSIONS}


class AlertRuleForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    metric = forms.ChoiceField(choices=AlertMetric.choices, required=False)
    check = forms.ChoiceField(required=False, help_text="For a flag rate: the check it watches.")
    min_severity = forms.ChoiceField(
        required=False,
        choices=[("", "any"), *((name, name) for name in SEVERITIES)],
        help_text="For a flag rate: count flags at or above this severity.",
    )
    window_minutes = forms.CharField(required=False, initial="60")
    baseline_minutes = forms.CharField(required=False, initial="1440")
    condition_type = forms.ChoiceField(choices=ConditionType.choices, required=False)
    condition_value = forms.CharField(required=False)
    direction = forms.ChoiceField(
        choices=[
            ("", "default (below for the mean rating, else above)"),
            ("above", "above"),
            ("below", "below"),
        ],
        required=False,
    )
    min_count = forms.CharField(required=False, initial="20")
    cooldown_minutes = forms.CharField(required=False, initial="60")
    webhooks = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    triggers = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        checks = Check.objects.filter(project=project).order_by("name").values_list("pk", "name")
        self.fields["check"].choices = [("", "none"), *((str(pk), name) for pk, name in checks)]  # type: ignore[attr-defined]
        self.fields["webhooks"].choices = [  # type: ignore[attr-defined]
            (str(w.pk), w.name) for w in Webhook.objects.filter(project=project).order_by("name")
        ]
        self.fields["triggers"].choices = [  # type: ignore[attr-defined]
            (str(t.pk), t.name) for t in Trigger.objects.filter(project=project).order_by("name")
        ]
        for dim in DIMENSIONS:
            self.fields[f"filter_{dim}"] = forms.CharField(
                required=False,
                label=DIMENSION_LABELS[dim],
                help_text="Comma-separated values; empty: every value.",
            )

    def filter_fields(self) -> list[forms.BoundField]:
        return [self[f"filter_{dim}"] for dim in DIMENSIONS]

    def body(self) -> dict[str, Any]:
        """What was typed, in the API's shape (the service checks it)."""
        data = self.cleaned_data
        filters = {
            dim: [part.strip() for part in data[f"filter_{dim}"].split(",") if part.strip()]
            for dim in DIMENSIONS
            if data.get(f"filter_{dim}", "").strip()
        }
        condition: dict[str, Any] = {
            "type": data["condition_type"],
            "value": data["condition_value"],
        }
        if data.get("direction"):
            condition["direction"] = data["direction"]
        body: dict[str, Any] = {
            "name": data["name"],
            "metric": data["metric"],
            "filters": filters,
            "window_minutes": data["window_minutes"],
            "baseline_minutes": data["baseline_minutes"],
            "condition": condition,
            "min_count": data["min_count"],
            "cooldown_minutes": data["cooldown_minutes"],
            "webhooks": [int(pk) for pk in data["webhooks"]],
            "triggers": [int(pk) for pk in data["triggers"]],
            "active": bool(data["active"]),
            "check": int(data["check"]) if data.get("check") else None,
        }
        if data.get("min_severity"):
            body["min_severity"] = data["min_severity"]
        return body

    def add_service_errors(self, details: Mapping[str, Sequence[str]] | Any) -> None:
        if not isinstance(details, Mapping):
            self.add_error(None, str(details))
            return
        for name, messages in details.items():
            target = ERROR_FIELDS.get(name, name)
            for message in messages if isinstance(messages, (list, tuple)) else [messages]:
                self.add_error(target if target in self.fields else None, str(message))


def initial_of(rule: AlertRule) -> dict[str, Any]:
    """The form's values for an existing rule."""
    initial: dict[str, Any] = {
        "name": rule.name,
        "metric": rule.metric,
        "check": str(rule.check_config_id or ""),
        "min_severity": {10: "info", 20: "warning", 30: "critical"}.get(rule.min_severity, ""),
        "window_minutes": str(rule.window_minutes),
        "baseline_minutes": str(rule.baseline_minutes),
        "condition_type": rule.condition_type,
        "condition_value": f"{rule.condition_value:g}",
        "direction": rule.direction,
        "min_count": str(rule.min_count),
        "cooldown_minutes": str(rule.cooldown_minutes),
        "webhooks": [str(w.pk) for w in rule.webhooks.all()],
        "triggers": [str(t.pk) for t in rule.triggers.all()],
        "active": rule.active,
    }
    for dim in DIMENSIONS:
        initial[f"filter_{dim}"] = ", ".join(rule.filters.get(dim, []))
    return initial
