from __future__ import annotations

from typing import Any

import pytest

from annotation.models import AgreementReport, Queue
from tests.conftest import Persona
from tests.review.conftest import make_queue


def compute(client: Any, queue: Queue, capture: Any, **body: Any) -> Any:
    with capture(execute=True):
        response = client.post(f"/api/v1/queues/{queue.pk}/agreement", body, format="json")
    return response


def test_a_lead_computes_a_report_on_a_crafted_queue(
    lead: Persona, disputed_queue: Queue, django_capture_on_commit_callbacks: Any
) -> None:
    started = compute(
        lead.client(), disputed_queue, django_capture_on_commit_callbacks, resamples=200, seed=3
    )

    assert started.status_code == 202
    assert started.json()["status"] == "pending"
    report = lead.client().get(started.json()["url"]).json()
    assert report["status"] == "done" and report["progress"] == 1.0
    result = report["result"]
    assert result["items"] == 3 and result["annotations"] == 9
    verdict = next(f for f in result["fields"] if f["name"] == "verdict")
    assert verdict["percent_agreement"] == pytest.approx((1 + 1 / 3 + 1) / 3, abs=1e-6)
    assert (
        verdict["krippendorff_alpha_ci"][0]
        <= verdict["krippendorff_alpha"]
        <= verdict["krippendorff_alpha_ci"][1]
    )
    rating = next(f for f in result["fields"] if f["name"] == "rating")
    assert rating["units"] == 3  # third_annotator never rated; two ratings per item remain
    per_annotator = {row["annotator"]: row for row in result["per_annotator"]}
    assert per_annotator["third_annotator"]["agreement_with_others"] == pytest.approx(
        2 / 3, abs=1e-6
    )
    assert result["by_guideline_version"][0]["guideline_version"] == 1
    assert AgreementReport.objects.get().parameters == {"resamples": 200, "seed": 3}


def test_overlap_one_says_why_agreement_cannot_be_computed(
    lead: Persona, annotator: Persona, project: Any, django_capture_on_commit_callbacks: Any
) -> None:
    queue = make_queue(project, [annotator], name="Solo", overlap=1)

    started = compute(lead.client(), queue, django_capture_on_commit_callbacks)

    result = lead.client().get(started.json()["url"]).json()["result"]
    assert result["status"] == "not_computable"
    assert "overlap 1" in result["reason"]


def test_only_leads_compute_and_read_reports(
    lead: Persona,
    annotator: Persona,
    engineer: Persona,
    outsider: Persona,
    disputed_queue: Queue,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"/api/v1/queues/{disputed_queue.pk}/agreement"

    assert annotator.client().post(url, {}, format="json").status_code == 403
    assert engineer.client().post(url, {}, format="json").status_code == 403
    assert outsider.client().post(url, {}, format="json").status_code == 404
    report = compute(lead.client(), disputed_queue, django_capture_on_commit_callbacks).json()
    assert engineer.client().get(report["url"]).status_code == 403
    assert outsider.client().get(report["url"]).status_code == 404
    assert lead.client().post(url, {"resamples": -1}, format="json").status_code == 400
