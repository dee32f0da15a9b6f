"""The queue form: a queue's definition, but its sources, as form fields.

The form only parses what was typed (numbers, JSON, lists, times); whether the definition makes
sense is the services' call (`queue_create`, `queue_update`), see `annotation.forms.queue_editor`.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from annotation.models import Project
from annotation.models.review import (
    MAX_FILL_EVERY_MINUTES,
    MAX_OVERLAP,
    Guideline,
    Queue,
    QueueState,
    new_seed,
)
from annotation.schemas.queue_definition import LIST_FILTERS, MAX_LAST_HOURS
from annotation.schemas.safe_json import UnsafeJson, json_loads_safe
from annotation.selectors.filter_suggestions import filter_suggestions
from annotation.selectors.lead import project_guidelines, project_members, queue_name_taken

MAX_LEASE_MINUTES = 24 * 60
MAX_SEED = 2**62
LATEST = "latest"
FILTER_FIELDS = (
    *(f"filter_{key}" for key in LIST_FILTERS),
    "since",
    "until",
    "last_hours",
    "metadata",
)
DEFAULT_SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "verdict",
            "type": "choice",
            "options": ["good", "bad"],
            "required": True,
            "agreement": True,
        },
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
    ]
}


def _list_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _time_text(value: Any) -> str:
    """A stored ISO time as a datetime-local value in UTC (or as it is, when it does not parse)."""
    if not isinstance(value, str):
        return ""
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        return value
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _metadata_text(metadata: Any) -> str:
    if not isinstance(metadata, dict):
        return ""
    lines = []
    for key, value in metadata.items():
        if isinstance(value, str):
            # Quoted when it would otherwise read back as a number or true/false.
            try:
                json.loads(value)
            except ValueError:
                lines.append(f"{key}={value}")
            else:
                lines.append(f"{key}={json.dumps(value)}")
        else:
            lines.append(f"{key}={json.dumps(value)}")
    return "\n".join(lines)


def queue_initial(queue: Queue) -> dict[str, Any]:
    filters = queue.filters if isinstance(queue.filters, dict) else {}
    initial: dict[str, Any] = {
        "name": queue.name,
        "description": queue.description,
        "state": queue.state,
        "annotators": [user.username for user in queue.annotators.all()],
        "guideline": str(queue.guideline.version) if queue.guideline else LATEST,
        "overlap": queue.overlap,
        "min_annotations_to_settle": queue.min_annotations_to_settle,
        "capacity": queue.capacity,
        "lease_minutes": queue.lease_minutes,
        "fill_every_minutes": queue.fill_every_minutes,
        "priority": _list_text(queue.priority),
        "seed": queue.seed,
        "schema": json.dumps(queue.schema, indent=2),
        "since": _time_text(filters.get("since")),
        "until": _time_text(filters.get("until")),
        "last_hours": filters.get("last_hours"),
        "metadata": _metadata_text(filters.get("metadata")),
    }
    for key in LIST_FILTERS:
        initial[f"filter_{key}"] = _list_text(filters.get(key))
    return initial


def new_queue_initial() -> dict[str, Any]:
    return {
        "state": QueueState.ACTIVE,
        "guideline": LATEST,
        "overlap": 1,
        "capacity": 1000,
        "lease_minutes": 15,
        # Chosen once, when the page is drawn, so the preview draws what the saved queue will.
        "seed": new_seed(),
        "schema": json.dumps(DEFAULT_SCHEMA, indent=2),
    }


class QueueForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    state = forms.ChoiceField(choices=QueueState.choices)
    annotators = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    guideline = forms.ChoiceField(label="Guideline version")
    overlap = forms.IntegerField(help_text=f"Annotations wanted per item, 1-{MAX_OVERLAP}.")
    min_annotations_to_settle = forms.IntegerField(
        required=False,
        label="Settle on at least",
        help_text="An item that can no longer reach its overlap (annotators skipped it) is "
        "settled on this many annotations, 1 to the overlap; fewer go to adjudication. Empty: "
        "the overlap.",
    )
    capacity = forms.IntegerField(
        help_text="Most unfinished (open or in progress) items the queue holds after a fill."
    )
    lease_minutes = forms.IntegerField(
        help_text="How long an annotator holds an item before it returns to the pool."
    )
    fill_every_minutes = forms.IntegerField(
        required=False,
        label="Fill every (minutes)",
        help_text="Empty: fills only when someone presses Fill now.",
    )
    priority = forms.CharField(
        required=False,
        label="Priority order",
        help_text="Source names, most important first, separated by commas; empty: the order "
        "of the sources.",
    )
    seed = forms.IntegerField(help_text="Random draws use it unless a source sets its own.")
    filter_model = forms.CharField(required=False, label="Model")
    filter_model_version = forms.CharField(required=False, label="Model version")
    filter_prompt_template = forms.CharField(required=False, label="Prompt template")
    filter_prompt_template_version = forms.CharField(
        required=False, label="Prompt template version"
    )
    filter_experiment = forms.CharField(required=False, label="Experiment")
    filter_variant = forms.CharField(required=False, label="Variant")
    since = forms.CharField(
        required=False,
        label="Since (UTC)",
        widget=forms.TextInput(attrs={"type": "datetime-local", "step": "1"}),
    )
    until = forms.CharField(
        required=False,
        label="Until (UTC)",
        widget=forms.TextInput(attrs={"type": "datetime-local", "step": "1"}),
    )
    last_hours = forms.IntegerField(
        required=False, label="Only the last (hours)", help_text="Counted back from each fill."
    )
    metadata = forms.CharField(
        required=False,
        label="Metadata",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One key=value a line; all must match. Numbers and true/false match as such; "
        'quote a value ("3") to match it as text.',
    )
    schema = forms.CharField(
        label="Label schema (JSON)",
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "code"}),
    )

    def __init__(
        self, *args: Any, project: Project, queue: Queue | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.queue = queue
        self.members = {m.user.username: m for m in project_members(project)}
        annotators: forms.MultipleChoiceField = self.fields["annotators"]  # type: ignore[assignment]
        annotators.choices = [
            (name, f"{name} ({m.get_role_display()})") for name, m in self.members.items()
        ]
        self.guidelines = {str(g.version): g for g in project_guidelines(project)}
        guideline: forms.ChoiceField = self.fields["guideline"]  # type: ignore[assignment]
        guideline.choices = [
            (LATEST, "Latest (follows new versions)"),
            *((version, f"v{version}") for version in self.guidelines),
        ]
        self.suggestions = filter_suggestions(project)
        for key in LIST_FILTERS:
            attrs = self.fields[f"filter_{key}"].widget.attrs
            attrs["placeholder"] = "any; a, b for several"
            if self.suggestions.get(key):
                # A <datalist> of the values the project's interactions carry.
                attrs["list"] = f"suggest-{key}"

    # -- parsing ---------------------------------------------------------------------------------

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if queue_name_taken(self.project, name, exclude=self.queue.pk if self.queue else None):
            raise ValidationError(
                f"{self.project.name} already has a queue named '{name}'; choose another name."
            )
        return name

    @staticmethod
    def _whole(value: int | None, low: int, high: int | None, what: str) -> int | None:
        if value is None:
            return None
        if value < low or (high is not None and value > high):
            bounds = f"{low}-{high}" if high is not None else f"at least {low}"
            raise ValidationError(f"{value} is outside {bounds}; {what}.")
        return value

    def clean_overlap(self) -> int | None:
        return self._whole(
            self.cleaned_data["overlap"], 1, MAX_OVERLAP, "give how many annotators label each item"
        )

    def clean_min_annotations_to_settle(self) -> int | None:
        return self._whole(
            self.cleaned_data["min_annotations_to_settle"],
            1,
            MAX_OVERLAP,
            "give how many annotations settle an item, or leave it empty for the overlap",
        )

    def clean_capacity(self) -> int | None:
        return self._whole(
            self.cleaned_data["capacity"], 1, 10_000_000, "give the most unfinished items to hold"
        )

    def clean_lease_minutes(self) -> int | None:
        return self._whole(
            self.cleaned_data["lease_minutes"], 1, MAX_LEASE_MINUTES, "a lease lasts up to a day"
        )

    def clean_fill_every_minutes(self) -> int | None:
        return self._whole(
            self.cleaned_data["fill_every_minutes"],
            1,
            MAX_FILL_EVERY_MINUTES,
            "at most four weeks; leave it empty to fill on demand",
        )

    def clean_last_hours(self) -> int | None:
        return self._whole(
            self.cleaned_data["last_hours"],
            1,
            MAX_LAST_HOURS,
            "at most ten years; leave it empty for no time limit",
        )

    def clean_seed(self) -> int | None:
        return self._whole(self.cleaned_data["seed"], 0, MAX_SEED, "use a whole number")

    def clean_priority(self) -> list[str]:
        return _split(self.cleaned_data["priority"])

    def _clean_list(self, key: str) -> list[str]:
        return _split(self.cleaned_data[f"filter_{key}"])

    def clean_filter_model(self) -> list[str]:
        return self._clean_list("model")

    def clean_filter_model_version(self) -> list[str]:
        return self._clean_list("model_version")

    def clean_filter_prompt_template(self) -> list[str]:
        return self._clean_list("prompt_template")

    def clean_filter_prompt_template_version(self) -> list[str]:
        return self._clean_list("prompt_template_version")

    def clean_filter_experiment(self) -> list[str]:
        return self._clean_list("experiment")

    def clean_filter_variant(self) -> list[str]:
        return self._clean_list("variant")

    def _clean_time(self, key: str) -> str | None:
        text = str(self.cleaned_data[key]).strip()
        if not text:
            return None
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(
                f"'{text}' is not a date and time; use e.g. 2026-11-01T00:00 (UTC)."
            )
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def clean_since(self) -> str | None:
        return self._clean_time("since")

    def clean_until(self) -> str | None:
        return self._clean_time("until")

    def clean_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        for number, line in enumerate(str(self.cleaned_data["metadata"]).splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, raw = line.partition("=")
            if not sep or not key.strip():
                raise ValidationError(f"line {number}: '{line.strip()}' is not key=value.")
            raw = raw.strip()
            try:
                value: Any = json_loads_safe(raw)
            except UnsafeJson as error:
                raise ValidationError(f"line {number}: {error}") from None
            except ValueError:
                value = raw
            if isinstance(value, list | dict) or value is None:
                value = raw
            metadata[key.strip()] = value
        return metadata

    def clean_schema(self) -> Any:
        text = self.cleaned_data["schema"]
        try:
            return json_loads_safe(text)
        except UnsafeJson as error:
            raise ValidationError(str(error)) from None
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}). "
                'A schema looks like {"fields": [{"name": "verdict", "type": "choice", '
                '"options": ["good", "bad"]}]}.'
            ) from None
        except ValueError as error:  # NaN or Infinity
            raise ValidationError(f"Not valid JSON: {error}.") from None

    # -- values for the services -------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        for key in LIST_FILTERS:
            if data.get(f"filter_{key}"):
                filters[key] = data[f"filter_{key}"]
        for key in ("since", "until", "last_hours"):
            if data.get(key) is not None:
                filters[key] = data[key]
        if data.get("metadata"):
            filters["metadata"] = data["metadata"]
        return filters

    def guideline_value(self) -> Guideline | None:
        return self.guidelines.get(self.cleaned_data["guideline"])

    def annotator_users(self) -> list[User]:
        return [self.members[name].user for name in self.cleaned_data["annotators"]]
