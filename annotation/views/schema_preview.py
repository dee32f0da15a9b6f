"""The label schema builder's live preview: the annotator's form for the schema as typed,
drawn by the same widgets as the workspace, with each problem of the schema next to the field
it concerns. Nothing is saved."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from annotation.review.display import field_labels, taxonomy_labels
from annotation.schemas.label_schema import MAX_FIELDS, parse_schema, schema_errors
from annotation.schemas.safe_json import UnsafeJson, json_loads_safe
from annotation.selectors.access import LEADS, project_access
from annotation.views.annotation_form import widgets
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

TEMPLATE = "annotation/lead/schema_preview.html"
MAX_SCHEMA_CHARS = 200_000
SAMPLE_RESPONSE = "The model's response appears here; a correction field starts from it."
SAMPLE_DOCUMENTS = [
    {"id": "doc-1", "text": "A retrieved document.", "score": 0.82, "source": "kb"},
    {"id": "doc-2", "text": "Another retrieved document.", "score": 0.41, "source": "kb"},
]
_PLACE = re.compile(r"^schema\.fields\[(\d+)\](?:\.([a-z_.]+))?: ?(.*)$", re.DOTALL)


def placed_errors(messages: list[str]) -> tuple[dict[int, list[str]], list[str]]:
    """Schema problems by field index ("options: …") and those about the whole schema."""
    by_field: dict[int, list[str]] = {}
    general: list[str] = []
    for message in messages:
        match = _PLACE.match(message)
        if match is None:
            general.append(message)
            continue
        index, key, problem = int(match.group(1)), match.group(2), match.group(3)
        by_field.setdefault(index, []).append(f"{key}: {problem}" if key else problem)
    return by_field, general


def _parse(text: str) -> tuple[Any, str]:
    if len(text) > MAX_SCHEMA_CHARS:
        return None, f"{len(text):,} characters; a schema is at most {MAX_SCHEMA_CHARS:,}."
    try:
        return json_loads_safe(text), ""
    except UnsafeJson as error:
        return None, str(error)
    except json.JSONDecodeError as error:
        return None, f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
    except ValueError as error:
        return None, f"Not valid JSON: {error}."


@htmx_page
@login_required
@require_POST
def schema_preview(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """POST `schema` (the JSON as typed): the annotator's form for it, or its problems by field."""
    project = project_access(request.user, name, LEADS).project
    schema, problem = _parse(request.POST.get("schema", ""))
    context: dict[str, Any] = {"project": project, "problem": problem, "widgets": []}
    if not problem:
        taxonomy = project.label_names
        by_field, general = placed_errors(schema_errors(schema, taxonomy=taxonomy))
        fields = schema.get("fields") if isinstance(schema, dict) else None
        names = [
            (f.get("name") if isinstance(f, dict) else None) or f"field {i + 1}"
            for i, f in enumerate(fields if isinstance(fields, list) else [])
        ][:MAX_FIELDS]
        context["field_errors"] = [
            {
                "index": index,
                "name": names[index] if index < len(names) else f"field {index + 1}",
                "messages": messages,
            }
            for index, messages in sorted(by_field.items())
        ]
        context["general_errors"] = general
        if not by_field and not general:
            context["widgets"] = widgets(
                parse_schema(schema),
                taxonomy=taxonomy,
                values={},
                errors={},
                response=SAMPLE_RESPONSE,
                documents=SAMPLE_DOCUMENTS,
                labels=field_labels(schema),
                option_labels=taxonomy_labels(project.taxonomy),
            )
    return render(request, TEMPLATE, context)
