from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Annotation, Project, Queue, QueueItem
from tests.conftest import Persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue


@dataclass
class Targets:
    """Real ids for every JSON endpoint, so each one reaches the point where it reads its body."""

    queue: Queue
    item: QueueItem
    annotation: Annotation
    check_id: int


@pytest.fixture
def targets(project: Project, annotator: Persona, lead: Persona) -> Targets:
    from annotation.models import Check

    queue = make_queue(project, [annotator], overlap=1)
    item = QueueItemFactory(
        queue=queue, interaction=InteractionFactory(project=project, request_id="req-t")
    )
    now = timezone.now()
    annotation = Annotation.objects.create(
        item=item,
        annotator=annotator.user,
        values={"verdict": "bad"},
        created_at=now,
        updated_at=now,
    )
    check = Check.objects.filter(project=project).first()
    assert check is not None
    return Targets(queue=queue, item=item, annotation=annotation, check_id=check.pk)


def json_request(client: APIClient, method: str, url: str, body: str | bytes) -> Any:
    return getattr(client, method)(url, body, content_type="application/json")
