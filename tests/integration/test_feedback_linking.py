from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from annotation.models import Feedback
from annotation.tasks.ingestion import link_waiting_feedback
from tests.factories import InteractionFactory, ProjectFactory

pytestmark = pytest.mark.integration


def test_the_worker_links_feedback_that_missed_its_interaction(celery_worker: Any) -> None:
    project = ProjectFactory()
    now = timezone.now()
    # As if feedback and its interaction were committed by two concurrent requests.
    Feedback.objects.create(
        project=project,
        request_id="race-1",
        kind="comment",
        text="late",
        timestamp=now,
        received_at=now,
    )
    interaction = InteractionFactory(project=project, request_id="race-1")
    Feedback.objects.create(
        project=project,
        request_id="never",
        kind="comment",
        text="x",
        timestamp=now,
        received_at=now,
    )

    linked = link_waiting_feedback.delay().get(timeout=30)

    assert linked == 1
    assert Feedback.objects.get(request_id="race-1").interaction == interaction
    assert Feedback.objects.get(request_id="never").interaction is None
