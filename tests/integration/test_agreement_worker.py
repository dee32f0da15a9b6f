from __future__ import annotations

import time
from typing import Any

import pytest

from annotation.models import AgreementReport, JobStatus, Project
from annotation.services.agreement import agreement_request
from tests.agreement.conftest import annotate
from tests.conftest import _persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

pytestmark = pytest.mark.integration


def test_a_worker_computes_a_stored_report(celery_worker: Any) -> None:
    from annotation.models import Role
    from annotation.services.projects import project_create

    project: Project = project_create(name="agree-bot").obj.project
    people = [_persona(project, f"ann{n}", Role.ANNOTATOR) for n in range(2)]
    queue = make_queue(project, people, name="Pairs", overlap=2)
    for n in range(20):
        item = QueueItemFactory(queue=queue, interaction=InteractionFactory(project=project))
        annotate(item, people[0], {"verdict": "good" if n % 2 else "bad"})
        annotate(item, people[1], {"verdict": "good" if n % 3 else "bad"})

    report = agreement_request(queue=queue, requested_by=None, resamples=100)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.status in (JobStatus.DONE, JobStatus.FAILED):
            break
        time.sleep(0.1)
    assert report.status == JobStatus.DONE, report.error
    assert report.task_id
    verdict = next(f for f in report.result["fields"] if f["name"] == "verdict")
    assert verdict["units"] == 20 and "cohen_kappa" in verdict
    assert AgreementReport.objects.count() == 1
