from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Check, Project
from annotation.schemas.queue_definition import filters_errors, sources_errors
from tests.conftest import Persona
from tests.review.conftest import make_queue


@pytest.mark.parametrize(
    ("sources", "place", "hint"),
    [
        ([], "sources", "non-empty list"),
        ([{"type": "popular"}], "sources[0].type", "unknown source type 'popular'"),
        ([{"type": "random"}], "sources[0].rate", "outside (0, 1]"),
        ([{"type": "random", "rate": 0}], "sources[0].rate", "outside (0, 1]"),
        ([{"type": "random", "rate": 1.5}], "sources[0].rate", "outside (0, 1]"),
        ([{"type": "low_rated", "rate": -0.1}], "sources[0].rate", "outside (0, 1]"),
        ([{"type": "low_rated", "threshold": 2}], "sources[0].threshold", "outside [0, 1]"),
        ([{"type": "low_rated", "checks": ["pii"]}], "sources[0].checks", "not a parameter"),
        ([{"type": "flagged", "min_severity": "huge"}], "sources[0].min_severity", "info, warning"),
        ([{"type": "flagged", "checks": ["nope"]}], "sources[0].checks", "'nope' not configured"),
        ([{"type": "uncertain", "checks": ["pii"]}], "sources[0].checks", "rule checks"),
        ([{"type": "uncertain", "low": 0.7, "high": 0.3}], "sources[0]", "low ≤ high"),
        ([{"type": "implicit_negative", "events": ["copy"]}], "sources[0].events", "abandoned"),
        (
            [{"type": "random", "rate": 0.1}, {"type": "random", "rate": 0.2}],
            "sources[1].name",
            "distinct",
        ),
    ],
)
def test_it_names_what_is_wrong_with_sources(
    project: Project, sources: Any, place: str, hint: str
) -> None:
    checks = {check.name: check for check in Check.objects.filter(project=project)}
    errors = sources_errors(sources, checks=checks)

    assert any(error.startswith(place) and hint in error for error in errors), errors


def test_two_sources_of_a_type_are_fine_with_distinct_names() -> None:
    sources = [
        {"type": "random", "rate": 0.1},
        {"type": "random", "rate": 0.2, "name": "random-b", "seed": 3},
    ]

    assert sources_errors(sources) == []


@pytest.mark.parametrize(
    ("filters", "hint"),
    [
        ({"colour": "red"}, "filters.colour: unknown filter"),
        ({"model": 3}, "filters.model: must be a string"),
        ({"since": "yesterday"}, "filters.since"),
        ({"since": "2026-11-01T00:00:00"}, "with a zone"),
        ({"last_hours": 0}, "filters.last_hours"),
        ({"metadata": {"locale": ["en"]}}, "filters.metadata.locale"),
    ],
)
def test_it_names_what_is_wrong_with_filters(filters: Any, hint: str) -> None:
    assert any(hint in error for error in filters_errors(filters))


def test_saving_an_invalid_queue_reports_every_field(project: Project, annotator: Persona) -> None:
    with pytest.raises(ValidationError) as raised:
        make_queue(
            project,
            [annotator],
            sources=[{"type": "nope"}],
            schema={
                "fields": [{"name": "r", "type": "multi_choice", "options": {"taxonomy": ["x"]}}]
            },
            priority=["flagged"],
            overlap=11,
        )

    assert set(raised.value.message_dict) == {"sources", "schema", "priority", "overlap"}


def test_annotators_must_be_members_of_the_project(project: Project, outsider: Persona) -> None:
    with pytest.raises(ValidationError) as raised:
        make_queue(project, [outsider])

    assert (
        "outsider not members of project support-bot" in raised.value.message_dict["annotators"][0]
    )
