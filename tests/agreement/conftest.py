from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from annotation.models import Annotation, Project, Queue, QueueItem
from annotation.models.review import ItemState
from tests.conftest import Persona, _persona
from tests.factories import GuidelineFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue


@pytest.fixture
def third_annotator(project: Project) -> Persona:
    from annotation.models import Role

    return _persona(project, "third_annotator", Role.ANNOTATOR)


def annotate(
    item: QueueItem, persona: Persona, values: dict[str, Any], *, version: Any = None
) -> Annotation:
    now = timezone.now()
    return Annotation.objects.create(
        item=item,
        annotator=persona.user,
        values=values,
        guideline=version,
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def disputed_queue(
    project: Project, annotator: Persona, other_annotator: Persona, third_annotator: Persona
) -> Queue:
    """Three annotators, three items: they agree on two verdicts and split 2-1 on the third."""
    queue = make_queue(
        project, [annotator, other_annotator, third_annotator], name="Triple", overlap=3
    )
    v1 = GuidelineFactory(project=project, version=1)
    answers = [
        ("good", "good", "good"),
        ("bad", "bad", "good"),
        ("bad", "bad", "bad"),
    ]
    for n, (a, b, c) in enumerate(answers):
        item = QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(project=project, response=f"Answer {n}"),
            annotations_done=3,
            state=ItemState.NEEDS_ADJUDICATION if len({a, b, c}) > 1 else ItemState.DONE,
        )
        annotate(item, annotator, {"verdict": a, "rating": 4 if a == "good" else 2}, version=v1)
        annotate(
            item, other_annotator, {"verdict": b, "rating": 4 if b == "good" else 1}, version=v1
        )
        annotate(
            item, third_annotator, {"verdict": c, "correction": f"Better answer {n}"}, version=v1
        )
    return queue
