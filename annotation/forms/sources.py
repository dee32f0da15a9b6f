"""The sampling sources of the queue editor: one row of fields per source.

Each row shows a type select and the parameters of every type; lead.js hides those the chosen
type does not read, and `SourceForm.source` reads only the chosen type's. Values are parsed here
(numbers, lists) and judged by `annotation.schemas.queue_definition` through the services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from annotation.schemas.queue_definition import MAX_SOURCES, NEGATIVE_EVENTS

SOURCE_LABELS = {
    "low_rated": "Low-rated",
    "flagged": "Flagged by checks",
    "random": "Random sample",
    "uncertain": "Uncertain evaluator score",
    "implicit_negative": "Implicit negative",
}
# The parameters each type reads besides name, rate and seed; the editor hides the others.
SOURCE_PARAMS: dict[str, tuple[str, ...]] = {
    "low_rated": ("threshold", "labels"),
    "flagged": ("checks", "min_severity"),
    "random": (),
    "uncertain": ("checks", "low", "high"),
    "implicit_negative": ("events",),
}
SEVERITIES = ("info", "warning", "critical")
SOURCES_PREFIX = "sources"
DEFAULT_SOURCES: list[dict[str, Any]] = [{"type": "low_rated", "threshold": 0.4}]


class SourceForm(forms.Form):
    """One sampling rule. A row whose type is left empty, or marked for removal, is no source."""

    # Free text behind a select: an unknown type reaches the service, which names the valid ones.
    type = forms.CharField(
        required=False,
        widget=forms.Select(choices=[("", "(no source)"), *SOURCE_LABELS.items()]),
    )
    name = forms.CharField(
        required=False,
        max_length=63,
        label="Reason name",
        help_text="The reason items get; defaults to the type. Needed to use a type twice.",
    )
    rate = forms.FloatField(
        required=False,
        help_text="Share of what it picks, in (0, 1]; required for random.",
        error_messages={"invalid": "Enter a number in (0, 1], e.g. 0.01."},
    )
    seed = forms.IntegerField(
        required=False,
        help_text="Draws with the queue's seed when left empty.",
        error_messages={"invalid": "Enter a whole number."},
    )
    threshold = forms.FloatField(
        required=False,
        label="Threshold (low-rated)",
        help_text="Normalised rating at or under which it picks (0 worst, 1 best; 0.4 if empty).",
        error_messages={"invalid": "Enter a number from 0 to 1, e.g. 0.4."},
    )
    labels = forms.BooleanField(
        required=False, initial=True, label="Also pick negative labels (low-rated)"
    )
    checks = forms.MultipleChoiceField(
        required=False,
        label="Checks (flagged, uncertain)",
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every check (every evaluator, for uncertain).",
    )
    min_severity = forms.CharField(
        required=False,
        label="Minimum severity (flagged)",
        initial="warning",
        widget=forms.Select(choices=[(s, s) for s in SEVERITIES]),
    )
    low = forms.FloatField(
        required=False,
        label="Score from (uncertain)",
        help_text="0.4 if empty.",
        error_messages={"invalid": "Enter a number from 0 to 1, e.g. 0.4."},
    )
    high = forms.FloatField(
        required=False,
        label="Score to (uncertain)",
        help_text="0.6 if empty.",
        error_messages={"invalid": "Enter a number from 0 to 1, e.g. 0.6."},
    )
    events = forms.MultipleChoiceField(
        required=False,
        label="Events (implicit negative)",
        choices=[(event, event) for event in NEGATIVE_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="None or all ticked: all three.",
    )

    def __init__(self, *args: Any, checks: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = {name: f"{name} ({kind})" for name, kind in checks}
        # A check the source names but the project no longer has stays listed (and ticked), so the
        # service's message about it has something to point at.
        chosen = list(self.initial.get("checks") or [])
        getlist = getattr(self.data, "getlist", None)
        if self.is_bound and getlist is not None:
            chosen += getlist(self.add_prefix("checks"))
        for name in chosen:
            names.setdefault(str(name), f"{name} (not configured in this project)")
        checks_field: forms.MultipleChoiceField = self.fields["checks"]  # type: ignore[assignment]
        checks_field.choices = list(names.items())
        self.fields["rate"].widget.attrs.update(placeholder="1", step="any")
        self.fields["threshold"].widget.attrs.update(placeholder="0.4", step="any")
        self.fields["low"].widget.attrs.update(placeholder="0.4", step="any")
        self.fields["high"].widget.attrs.update(placeholder="0.6", step="any")
        self.fields["type"].widget.attrs["data-source-type"] = ""

    def source(self) -> dict[str, Any] | None:
        """The source as the services take it, or None for an empty or removed row."""
        data = self.cleaned_data
        kind = (data.get("type") or "").strip()
        if not kind or data.get("DELETE"):
            return None
        source: dict[str, Any] = {"type": kind}
        if data.get("name"):
            source["name"] = data["name"].strip()
        for key in ("rate", "seed"):
            if data.get(key) is not None:
                source[key] = data[key]
        params = SOURCE_PARAMS.get(kind, ())
        for key in ("threshold", "low", "high"):
            if key in params and data.get(key) is not None:
                source[key] = data[key]
        if "labels" in params and not data.get("labels"):
            source["labels"] = False
        if "checks" in params and data.get("checks"):
            source["checks"] = list(data["checks"])
        if "min_severity" in params and data.get("min_severity"):
            source["min_severity"] = data["min_severity"]
        events = list(data.get("events") or [])
        if "events" in params and events and set(events) != set(NEGATIVE_EVENTS):
            source["events"] = events
        return source


class BaseSourceFormSet(forms.BaseFormSet):
    # The services' own limit: more rows are refused before any is built or validated.
    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_many_forms": f"A queue takes at most {MAX_SOURCES} sources (rows); remove some.",
    }

    def sources(self) -> tuple[list[dict[str, Any]], list[int]]:
        """The sources, and for each the index of the row it came from."""
        sources: list[dict[str, Any]] = []
        rows: list[int] = []
        for index, form in enumerate(self.forms):
            source = form.source()
            if source is not None:
                sources.append(source)
                rows.append(index)
        return sources, rows


_SourceFormSet = forms.formset_factory(
    SourceForm,
    formset=BaseSourceFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_SOURCES,
    absolute_max=MAX_SOURCES,
    validate_max=True,
)


def source_formset(
    data: Mapping[str, Any] | None = None,
    *,
    initial: list[dict[str, Any]] | None = None,
    checks: Sequence[tuple[str, str]] = (),
) -> BaseSourceFormSet:
    """The source rows: bound to posted data, or drawn from `initial`."""
    formset = _SourceFormSet(
        data, initial=initial, prefix=SOURCES_PREFIX, form_kwargs={"checks": checks}
    )
    return formset  # type: ignore[return-value]


def source_initial(source: Mapping[str, Any]) -> dict[str, Any]:
    """A stored source as the row's initial values."""
    initial = {
        k: source[k] for k in ("type", "rate", "seed", "threshold", "low", "high") if k in source
    }
    if source.get("name") and source.get("name") != source.get("type"):
        initial["name"] = source["name"]
    initial["labels"] = source.get("labels", True)
    initial["checks"] = list(source.get("checks") or [])
    initial["min_severity"] = source.get("min_severity", "warning")
    initial["events"] = list(source.get("events") or NEGATIVE_EVENTS)
    return initial
