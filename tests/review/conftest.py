from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Check, Project, Queue
from annotation.services.queues import queue_create
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA


@pytest.fixture
def checks(project: Project) -> dict[str, Check]:
    """Projects start with the rule checks; add an evaluator and pin the severities."""
    specs = [("pii", "pii", 30), ("blocklist", "blocklist", 20), ("judge", "llm_judge", 20)]
    return {
        name: Check.objects.update_or_create(
            project=project, name=name, defaults={"type": kind, "severity": severity}
        )[0]
        for name, kind, severity in specs
    }


def make_queue(project: Project, annotators: list[Persona], **fields: Any) -> Queue:
    fields.setdefault("name", "weekly")
    fields.setdefault("sources", [{"type": "low_rated", "threshold": 0.4}])
    fields.setdefault("schema", REVIEW_SCHEMA)
    fields.setdefault("seed", 7)
    return queue_create(
        project=project, annotators=[persona.user for persona in annotators], **fields
    )


@pytest.fixture
def review_queue(project: Project, annotator: Persona, other_annotator: Persona) -> Queue:
    """A queue of low-rated interactions, overlap 2, worked by both annotators."""
    return make_queue(project, [annotator, other_annotator], overlap=2)
