"""The export form of the exports page: an export request, as form fields.

The form only parses what was typed (numbers, lists, times) into the request the API
takes (``to_request``); whether the request makes sense is ``parse_export_request``'s
call, whose problems come back on the fields they name (``add_request_errors``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from django import forms
from django.utils.dateparse import parse_datetime

from annotation.models import ExportFormat, ExportKind, Project
from annotation.models.review import Queue
from annotation.schemas.export_request import ExportRequestInvalid

PII_CHOICES = [
    ("keep", "Keep as it is"),
    ("redact", "Redact: replace with placeholders such as [EMAIL]"),
    ("exclude", "Exclude rows that contain any"),
]
LIST_FIELDS = ("model", "model_version", "prompt_template", "verdicts", "reasons", "sampled_by")
# Where a problem named by the request schema is shown.
_FIELD_OF = {
    "filters.queues": "queues",
    "filters.since": "since",
    "filters.until": "until",
    "filters.min_agreement": "min_agreement",
    "filters.min_guideline_version": "min_guideline_version",
    "filters.adjudicated_only": "adjudicated_only",
    "filters.agreed_only": "agreed_only",
    "split": "validation",
    "split.validation": "validation",
    "split.seed": "seed",
    "redact_pii": "pii",
    "exclude_pii": "pii",
    **{f"filters.{name}": name for name in LIST_FIELDS},
}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class ExportForm(forms.Form):
    project = forms.ChoiceField()
    kind = forms.ChoiceField(choices=ExportKind.choices, initial="sft")
    format = forms.ChoiceField(choices=ExportFormat.choices, initial="jsonl")
    queues = forms.TypedMultipleChoiceField(
        coerce=int, required=False, help_text="None selected: every queue of the project."
    )
    since = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Interactions from this time (UTC).",
    )
    until = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Interactions before this time (UTC).",
    )
    model = forms.CharField(required=False, help_text="Comma-separated.")
    model_version = forms.CharField(required=False, help_text="Comma-separated.")
    prompt_template = forms.CharField(required=False, help_text="Comma-separated.")
    verdicts = forms.CharField(
        required=False, help_text="Final verdicts to keep, comma-separated (e.g. good)."
    )
    reasons = forms.CharField(
        required=False, help_text="Keep items reviewers gave any of these reasons."
    )
    sampled_by = forms.CharField(
        required=False, help_text="Keep items a source picked them for (low_rated, random, …)."
    )
    adjudicated_only = forms.BooleanField(required=False, label="Only adjudicated items")
    agreed_only = forms.BooleanField(
        required=False,
        label="Only items whose annotators all agree",
        help_text="With both ticked: adjudicated or agreed items.",
    )
    min_agreement = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        help_text="Share of annotator pairs agreeing, 0-1; items with one annotation have none.",
    )
    min_guideline_version = forms.IntegerField(
        required=False, min_value=1, help_text="Only annotations made under this version or later."
    )
    pii = forms.ChoiceField(choices=PII_CHOICES, initial="redact", label="Personal data")
    dedupe = forms.BooleanField(
        required=False, initial=True, label="Collapse exact-duplicate prompts"
    )
    validation = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        label="Validation share",
        help_text="E.g. 0.1 for a 90/10 train/validation split by prompt hash; empty for one file.",
    )
    seed = forms.IntegerField(required=False, min_value=0, initial=7)
    system_prompt = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="sft, preference, openai_dpo and eval: replaces the conversation's system turn.",
    )
    partial_relevance = forms.ChoiceField(
        choices=[("relevant", "relevant"), ("irrelevant", "not relevant")],
        initial="relevant",
        required=False,
        label="Partially relevant documents count as",
    )

    preset_name = forms.CharField(
        required=False,
        max_length=100,
        label="Preset name",
        help_text="Save as preset keeps this request under the name (the same name replaces it).",
    )

    def __init__(
        self, *args: Any, projects: Sequence[Project], queues: Sequence[Queue], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        project_field: forms.ChoiceField = self.fields["project"]  # type: ignore[assignment]
        project_field.choices = [(p.name, p.name) for p in projects]
        queue_field: forms.ChoiceField = self.fields["queues"]  # type: ignore[assignment]
        queue_field.choices = [(q.pk, f"{q.project.name} / {q.name}") for q in queues]
        if len(projects) == 1:
            project_field.initial = projects[0].name

    def to_request(self) -> dict[str, Any]:
        """The cleaned form as the API's export request."""
        data = self.cleaned_data
        kind = data["kind"]
        filters: dict[str, Any] = {}
        if data.get("queues"):
            filters["queues"] = list(data["queues"])
        for name in ("since", "until"):
            if data.get(name):
                value = data[name]
                # datetime-local has no offset; the form says UTC.
                if value.tzinfo is None:
                    value = value.replace(tzinfo=UTC)
                filters[name] = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        for name in LIST_FIELDS:
            values = _split(data.get(name) or "")
            if values:
                filters[name] = values
        for name in ("adjudicated_only", "agreed_only"):
            if data.get(name):
                filters[name] = True
        for name in ("min_agreement", "min_guideline_version"):
            if data.get(name) is not None:
                filters[name] = data[name]
        request: dict[str, Any] = {
            "project": data["project"],
            "kind": kind,
            "format": data["format"],
            "filters": filters,
            "redact_pii": data["pii"] == "redact",
            "exclude_pii": data["pii"] == "exclude",
        }
        if kind != "annotations":
            request["dedupe"] = bool(data.get("dedupe"))
        if data.get("validation"):
            request["split"] = {"validation": data["validation"], "seed": data.get("seed") or 0}
        if (data.get("system_prompt") or "").strip():
            request["system_prompt"] = data["system_prompt"]
        if kind == "retrieval":
            request["partial_relevance"] = data.get("partial_relevance") or "relevant"
        return request

    def add_request_errors(self, invalid: ExportRequestInvalid) -> None:
        """Show each problem of a refused request on the field it concerns."""
        for error in invalid.errors:
            place = error["field"]
            name = _FIELD_OF.get(place, place if place in self.fields else None)
            self.add_error(name, f"{error['message']}" if name else f"{place}: {error['message']}")


def request_initial(request: Mapping[str, Any], *, project: str) -> dict[str, Any]:
    """A stored export request (a preset) as the form's initial values: ``to_request`` reversed."""
    filters = request.get("filters") if isinstance(request.get("filters"), Mapping) else {}
    assert isinstance(filters, Mapping)
    initial: dict[str, Any] = {
        "project": project,
        "kind": request.get("kind", "sft"),
        "format": request.get("format", "jsonl"),
        "queues": list(filters.get("queues", [])),
        "pii": "redact"
        if request.get("redact_pii")
        else "exclude"
        if request.get("exclude_pii")
        else "keep",
        "dedupe": bool(request.get("dedupe", True)),
        "system_prompt": request.get("system_prompt") or "",
        "partial_relevance": request.get("partial_relevance", "relevant"),
        "adjudicated_only": bool(filters.get("adjudicated_only")),
        "agreed_only": bool(filters.get("agreed_only")),
        "min_agreement": filters.get("min_agreement"),
        "min_guideline_version": filters.get("min_guideline_version"),
    }
    for name in ("since", "until"):
        value = filters.get(name)
        if isinstance(value, str):
            parsed = parse_datetime(value)
            if parsed is not None:
                initial[name] = parsed.astimezone(UTC).replace(tzinfo=None)
    for name in LIST_FIELDS:
        value = filters.get(name)
        if isinstance(value, list):
            initial[name] = ", ".join(str(v) for v in value)
        elif isinstance(value, str):
            initial[name] = value
    split = request.get("split")
    if isinstance(split, Mapping):
        initial["validation"] = split.get("validation")
        initial["seed"] = split.get("seed", 0)
    else:
        initial["validation"] = None
    return initial
