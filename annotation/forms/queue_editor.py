"""The queue editor: the queue form and its source rows read together, a draft for the live
preview, and the services' error messages put back next to the fields they name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from annotation.forms.queues import FILTER_FIELDS, QueueForm, new_queue_initial, queue_initial
from annotation.forms.sources import (
    DEFAULT_SOURCES,
    SOURCES_PREFIX,
    source_formset,
    source_initial,
)
from annotation.models import Project
from annotation.models.review import Queue
from annotation.schemas.queue_definition import LIST_FILTERS, queue_definition_errors
from annotation.selectors.lead import project_checks

_SOURCE_PLACE = re.compile(r"^sources\[(\d+)\](?:\.([a-z_]+))?: ?(.*)$", re.DOTALL)
_FILTER_PLACE = re.compile(r"^filters\.([a-z_]+)(\.[^:]*)?: ?(.*)$", re.DOTALL)


class QueueEditor:
    """The queue form and its source rows, read together and filled with the services' errors."""

    def __init__(
        self,
        *,
        project: Project,
        queue: Queue | None = None,
        data: Mapping[str, Any] | None = None,
        add_source: bool = False,
    ) -> None:
        self.project = project
        self.queue = queue
        self.sources_errors: list[str] = []
        self.filters_errors: list[str] = []
        checks = project_checks(project)
        if data is not None:
            if add_source:
                data = self._with_extra_row(data)
            self.form = QueueForm(data, project=project, queue=queue)
            self.sources = source_formset(data, checks=checks)
            self.initial_sources: list[dict[str, Any]] = []
        else:
            self.initial_sources = list(queue.sources) if queue else list(DEFAULT_SOURCES)
            initial = queue_initial(queue) if queue else new_queue_initial()
            self.form = QueueForm(initial=initial, project=project, queue=queue)
            self.sources = source_formset(
                initial=[source_initial(s) for s in self.initial_sources if isinstance(s, dict)],
                checks=checks,
            )
        self._rows: list[int] = []
        self._checked = False

    @staticmethod
    def _with_extra_row(data: Mapping[str, Any]) -> Mapping[str, Any]:
        copy = data.copy()  # type: ignore[attr-defined]
        key = f"{SOURCES_PREFIX}-TOTAL_FORMS"
        try:
            total = int(copy.get(key) or 0)
        except ValueError:
            total = 0
        copy[key] = str(total + 1)
        return copy

    @property
    def is_bound(self) -> bool:
        return self.form.is_bound

    def is_valid(self) -> bool:
        form_ok = self.form.is_valid()
        sources_ok = self.sources.is_valid()
        if not (form_ok and sources_ok) and not self._checked:
            # The services will not be called, so check here what did parse: the lead then
            # sees every problem at once rather than one round of them per save.
            self._checked = True
            self._check_parsed(sources_ok)
        return form_ok and sources_ok

    def _check_parsed(self, sources_ok: bool) -> None:
        data = self.form.cleaned_data
        filters_ok = not any(key in self.form.errors for key in FILTER_FIELDS)
        draft = Queue(
            project=self.project,
            sources=self.source_list() if sources_ok else [],
            filters=self.form.filters() if filters_ok else {},
            priority=data.get("priority", []),
            schema=data.get("schema", {}),
        )
        checked = {
            "sources": sources_ok,
            "filters": filters_ok,
            "priority": sources_ok and "priority" in data,
            "schema": "schema" in data,
        }
        for key, messages in queue_definition_errors(draft).items():
            if checked.get(key):
                for message in messages:
                    self._place(key, message)

    def source_list(self) -> list[dict[str, Any]]:
        sources, self._rows = self.sources.sources()
        return sources

    def definition(self) -> dict[str, Any]:
        """Keyword arguments for `queue_create` / `queue_update` (the editor must be valid)."""
        data = self.form.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "state": data["state"],
            "guideline": self.form.guideline_value(),
            "overlap": data["overlap"],
            "min_annotations_to_settle": data["min_annotations_to_settle"],
            "capacity": data["capacity"],
            "lease_minutes": data["lease_minutes"],
            "fill_every_minutes": data["fill_every_minutes"],
            "priority": data["priority"],
            "seed": data["seed"],
            "sources": self.source_list(),
            "filters": self.form.filters(),
            "schema": data["schema"],
        }

    def annotators(self) -> list[User]:
        return self.form.annotator_users()

    def changed_annotators(self) -> list[User] | None:
        """The annotators to set, or None when they are the queue's already (so skipped items
        are not offered again for nothing)."""
        users = self.annotators()
        if self.queue is not None:
            current = set(self.queue.annotators.values_list("pk", flat=True))
            if current == {user.pk for user in users}:
                return None
        return users

    def draft(self) -> tuple[Queue | None, list[str]]:
        """An unsaved queue with the sampling rules as typed, for a preview; or why not."""
        if not self.is_bound:
            queue = self.queue or Queue(
                project=self.project,
                sources=self.initial_sources,
                filters={},
                priority=[],
                seed=self.form.initial["seed"],
                capacity=self.form.initial["capacity"],
            )
            return queue, []
        self.is_valid()
        problems = []
        if not self.sources.is_valid():
            problems.append("Some source fields are not valid; fix the marked ones.")
        if any(key in self.form.errors for key in FILTER_FIELDS):
            problems.append("Some filters are not valid; fix the marked ones.")
        if problems:
            return None, problems
        data = self.form.cleaned_data
        fallback = self.queue or Queue(capacity=1000, seed=0)
        draft = Queue(
            pk=self.queue.pk if self.queue else None,
            project=self.project,
            sources=self.source_list(),
            filters=self.form.filters(),
            priority=data.get("priority", []),
            seed=data.get("seed", fallback.seed),
            capacity=data.get("capacity", fallback.capacity),
        )
        return draft, []

    # -- the services' errors, next to their fields ----------------------------------------------

    def add_service_errors(self, error: ValidationError) -> None:
        by_field = (
            error.message_dict
            if hasattr(error, "error_dict")
            else {NON_FIELD_ERRORS: error.messages}
        )
        for key, messages in by_field.items():
            for message in messages:
                self._place(key, message)

    def _place(self, key: str, message: str) -> None:
        if key == "sources":
            self._place_source(message)
        elif key == "filters":
            self._place_filter(message)
        elif key in self.form.fields:
            prefix = f"{key}: "
            self.form.add_error(key, message.removeprefix(prefix))
        elif key == NON_FIELD_ERRORS:
            self.form.add_error(None, message)
        else:
            self.form.add_error(None, f"{key}: {message}")

    def _place_source(self, message: str) -> None:
        match = _SOURCE_PLACE.match(message)
        if match is None or int(match.group(1)) >= len(self._rows):
            self.sources_errors.append(message)
            return
        form = self.sources.forms[self._rows[int(match.group(1))]]
        field, problem = match.group(2), match.group(3)
        if field in form.fields:
            form.add_error(field, problem)
        else:
            form.add_error(None, f"{field}: {problem}" if field else problem)

    def _place_filter(self, message: str) -> None:
        match = _FILTER_PLACE.match(message)
        if match is not None:
            key, within, problem = match.groups()
            field = f"filter_{key}" if key in LIST_FILTERS else key
            if field in self.form.fields:
                # "metadata.locale: …" keeps the key it is about.
                self.form.add_error(field, f"{within[1:]}: {problem}" if within else problem)
                return
        self.filters_errors.append(message)

    @property
    def error_count(self) -> int:
        count = sum(len(errors) for errors in self.form.errors.values())
        count += sum(len(e) for form in self.sources.forms for e in form.errors.values())
        count += len(self.sources.non_form_errors()) if self.sources.is_bound else 0
        return count + len(self.sources_errors) + len(self.filters_errors)
