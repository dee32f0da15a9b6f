from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from annotation.models import Guideline, Project, Queue, QueueItem
from tests.conftest import Persona
from tests.factories import GuidelineFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue


def browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def guideline(project: Project) -> Guideline:
    return GuidelineFactory(
        project=project, version=3, text="# Rules\n\nMark **wrong** answers bad."
    )


@pytest.fixture
def work_queue(project: Project, annotator: Persona, guideline: Guideline) -> Queue:
    return make_queue(project, [annotator], name="Weekly review", overlap=1)


def add_items(queue: Queue, count: int, **interaction: Any) -> list[QueueItem]:
    return [
        QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(project=queue.project, **interaction),
            priority=count - n,
        )
        for n in range(count)
    ]
