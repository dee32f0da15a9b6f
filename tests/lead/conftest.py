from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from annotation.models import Guideline, Project, Queue
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA, GuidelineFactory
from tests.review.conftest import checks, make_queue

__all__ = ["checks"]  # the review tests' checks fixture, used here too

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def guideline(project: Project, lead: Persona) -> Guideline:
    return GuidelineFactory(
        project=project,
        version=1,
        text="# Rules\n\nMark wrong answers **bad**.",
        created_by=lead.user,
    )


@pytest.fixture
def queue(project: Project, lead: Persona, annotator: Persona) -> Queue:
    return make_queue(project, [annotator], name="Weekly review")


def sources_data(rows: Sequence[Mapping[str, Any]], *, initial: int = 0) -> dict[str, Any]:
    """The posted fields of the source rows, as the editor's form names them."""
    data: dict[str, Any] = {
        "sources-TOTAL_FORMS": str(len(rows)),
        "sources-INITIAL_FORMS": str(initial),
        "sources-MIN_NUM_FORMS": "0",
        "sources-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"sources-{index}-{key}"] = value
    return data


def form_data(
    sources: Sequence[Mapping[str, Any]] = (
        {"type": "low_rated", "threshold": "0.4", "labels": "on"},
    ),
    **fields: Any,
) -> dict[str, Any]:
    """A complete, valid queue form; `fields` replace single fields."""
    data: dict[str, Any] = {
        "name": "Weekly review",
        "description": "Low ratings of the week.",
        "state": "active",
        "guideline": "latest",
        "annotators": [],
        "overlap": "1",
        "capacity": "1000",
        "lease_minutes": "15",
        "fill_every_minutes": "",
        "priority": "",
        "seed": "7",
        "filter_model": "",
        "filter_model_version": "",
        "filter_prompt_template": "",
        "filter_prompt_template_version": "",
        "filter_experiment": "",
        "filter_variant": "",
        "since": "",
        "until": "",
        "last_hours": "",
        "metadata": "",
        "schema": json.dumps(REVIEW_SCHEMA),
        **sources_data(sources),
    }
    data.update(fields)
    return data
