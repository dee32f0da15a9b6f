"""The whole loop through the public API, with a real Celery worker and real HTTP.

Ingestion → checks on the worker → a queue fill → three annotators with one disagreement → the
lead's adjudication → an agreement report → the guard report of the PII check → SFT and
preference exports loaded with `datasets`. Nothing is marked done by hand: every state comes from
the API, and every figure is asserted against what the data makes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import krippendorff
import numpy as np
import pytest

from annotation.models import Interaction, Role
from annotation.services.projects import member_upsert, project_create

pytestmark = pytest.mark.integration

# Eight answers leak an email address (the PII check flags them), eight were rated thumbs down, and
# eight are fine. Reviewers judge the leaks unsafe, five thumbs-down answers incorrect, and three
# thumbs-down answers good (the user was wrong); one of the incorrect ones splits them 2-1.
LEAKS = [f"leak-{n}" for n in range(8)]
WRONG = [f"wrong-{n}" for n in range(5)]
RIGHT_BUT_DOWNVOTED = [f"downvoted-{n}" for n in range(3)]
FINE = [f"fine-{n}" for n in range(8)]
DISPUTED = "wrong-0"

SCHEMA = {
    "fields": [
        {
            "name": "verdict",
            "type": "choice",
            "options": ["good", "bad"],
            "required": True,
            "agreement": True,
        },
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "correction", "type": "correction"},
    ]
}


def _interaction(request_id: str) -> dict[str, Any]:
    n = request_id.split("-")[1]
    if request_id in LEAKS:
        response = f"Write to the account owner at owner{n}@example.com for the invoice."
    elif request_id in WRONG:
        response = f"Invoices cannot be downloaded (case {n})."
    else:
        response = f"Open Billing, then Invoices, and pick month {n}."
    return {
        "request_id": request_id,
        "timestamp": "2026-11-20T10:00:00Z",
        "model": "gpt-x",
        "model_version": "1.4.0",
        "messages": [{"role": "user", "content": f"How do I get invoice {request_id}?"}],
        "response": response,
    }


def _answer(request_id: str, annotator: int, response: str) -> dict[str, Any]:
    if request_id in LEAKS:
        return {
            "verdict": "bad",
            "reasons": ["unsafe"],
            "correction": "Ask the account owner for the invoice through Billing.",
        }
    if request_id in WRONG:
        if request_id == DISPUTED and annotator == 2:
            return {"verdict": "good"}
        return {
            "verdict": "bad",
            "reasons": ["incorrect"],
            "correction": f"Open Billing, then Invoices ({request_id}).",
        }
    return {"verdict": "good", "correction": response}


def _wait(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _poll(client: httpx.Client, url: str, what: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = client.get(url).json()
        if body["status"] == "failed":
            raise AssertionError(f"{what} failed: {body}")
        return body if body["status"] == "done" else None

    return _wait(done, what)


def test_the_review_loop_end_to_end(celery_worker: Any, live_server: Any, tmp_path: Path) -> None:
    project = project_create(name="loop-bot")
    key = project.secret
    people = {
        name: member_upsert(
            username=name, project=project.obj.project, role=role, password="pw-0123456789"
        ).secret
        for name, role in [
            ("lead", Role.LEAD),
            ("eng", Role.ENGINEER),
            ("ann0", Role.ANNOTATOR),
            ("ann1", Role.ANNOTATOR),
            ("ann2", Role.ANNOTATOR),
        ]
    }

    def client(token: str, scheme: str = "Token") -> httpx.Client:
        return httpx.Client(
            base_url=f"{live_server.url}/api/v1",
            headers={"Authorization": f"{scheme} {token}"},
            timeout=30,
        )

    lead, eng = client(people["lead"]), client(people["eng"])
    annotators = [client(people[f"ann{n}"]) for n in range(3)]

    # 1. Ingestion over HTTP, with feedback.
    app = client(key, "Bearer")
    every = LEAKS + WRONG + RIGHT_BUT_DOWNVOTED + FINE
    created = app.post("/interactions", json={"items": [_interaction(r) for r in every]})
    assert created.status_code == 201, created.text
    assert created.json()["created"] == 24
    feedback = [
        {"request_id": r, "kind": "rating", "value": 0, "scale": "thumbs"}
        for r in WRONG + RIGHT_BUT_DOWNVOTED
    ] + [{"request_id": r, "kind": "rating", "value": 1, "scale": "thumbs"} for r in FINE]
    assert app.post("/feedback", json={"items": feedback}).status_code == 201

    # 2. Checks on the worker: exactly the leaks are flagged by `pii`.
    _wait(
        lambda: not Interaction.objects.filter(checked_at__isnull=True).exists(),
        "the checks",
    )
    leak_detail = app.get(f"/interactions/{LEAKS[0]}").json()
    assert [(f["check"], f["flagged"]) for f in leak_detail["flags"] if f["flagged"]] == [
        ("pii", True)
    ]
    assert not [f for f in app.get(f"/interactions/{FINE[0]}").json()["flags"] if f["flagged"]]
    checks = {c["name"]: c for c in lead.get("/checks", params={"project": "loop-bot"}).json()}

    # 3. A queue filled on the worker: every low-rated and every flagged interaction, p = 1.
    queue = lead.post(
        "/queues",
        json={
            "project": "loop-bot",
            "name": "Loop",
            "sources": [
                {"type": "low_rated", "threshold": 0.4},
                {"type": "flagged", "checks": ["pii"], "min_severity": "warning"},
            ],
            "overlap": 3,
            "capacity": 100,
            "lease_minutes": 15,
            "annotators": ["ann0", "ann1", "ann2"],
            "schema": SCHEMA,
        },
    )
    assert queue.status_code == 201, queue.text
    queue_id = queue.json()["id"]
    fill = lead.post(f"/queues/{queue_id}/fill")
    assert fill.status_code == 202
    filled = _poll(lead, f"/queues/{queue_id}/fill/{fill.json()['id']}", "the fill")
    assert filled["added"] == 16
    assert filled["by_reason"] == {"low_rated": 8, "flagged": 8}

    # 4. Three annotators work the queue through `next` and submit.
    responses: dict[int, tuple[str, str]] = {}
    for n, annotator in enumerate(annotators):
        while True:
            leased = annotator.post(f"/queues/{queue_id}/next")
            if leased.status_code == 204:
                break
            assert leased.status_code == 200, leased.text
            item = leased.json()["item"]
            assert item["inclusion_probability"] == 1.0
            request_id = item["interaction"]["request_id"]
            response = item["interaction"]["response"]
            responses[item["id"]] = (request_id, response)
            submitted = annotator.post(
                f"/items/{item['id']}/annotations",
                json={"values": _answer(request_id, n, response)},
            )
            assert submitted.status_code == 201, submitted.text
    assert len(responses) == 16
    stats = lead.get(f"/queues/{queue_id}/stats").json()
    assert stats["by_state"]["done"] == 15
    assert stats["by_state"]["needs_adjudication"] == 1

    # 5. The lead settles the disagreement.
    disputed_item = next(i for i, (r, _) in responses.items() if r == DISPUTED)
    adjudicated = lead.post(
        f"/items/{disputed_item}/adjudication",
        json={
            "values": {
                "verdict": "bad",
                "reasons": ["incorrect"],
                "correction": f"Open Billing, then Invoices ({DISPUTED}).",
            }
        },
    )
    assert adjudicated.status_code == 201, adjudicated.text
    detail = lead.get(f"/interactions/{DISPUTED}").json()
    assert detail["queue_items"][0]["state"] == "done"

    # 6. Agreement on the worker, against the krippendorff package on the same matrix.
    requested = lead.post(f"/queues/{queue_id}/agreement")
    assert requested.status_code == 202, requested.text
    report = _poll(lead, f"/agreement/{requested.json()['id']}", "the agreement report")
    verdict = next(f for f in report["result"]["fields"] if f["name"] == "verdict")
    codes = {"good": 0.0, "bad": 1.0}
    matrix = np.array(
        [
            [codes[_answer(r, n, resp)["verdict"]] for r, resp in responses.values()]
            for n in range(3)
        ]
    )
    expected_alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert verdict["units"] == 16
    assert verdict["krippendorff_alpha"] == pytest.approx(expected_alpha, abs=1e-6)
    # 15 unanimous items give 45 agreeing pairs, the split item 1 of 3.
    assert verdict["percent_agreement"] == pytest.approx(46 / 48, abs=1e-6)

    # 7. The guard report of the PII check, against what reviewers said it should catch.
    pii = checks["pii"]
    mapped = lead.patch(f"/checks/{pii['id']}", json={"catches": {"reasons": ["unsafe"]}})
    assert mapped.status_code == 200, mapped.text
    guard = lead.get(f"/checks/{pii['id']}/report", params={"queue": queue_id}).json()
    assert guard["truth"] == "reasons: unsafe"
    assert guard["counts"]["reviewed"] == 16
    assert guard["counts"]["true_positives"] == 8
    assert guard["counts"]["false_positives"] == 0
    assert guard["counts"]["false_negatives"] == 0
    assert guard["precision"] == 1.0 and guard["recall"] == 1.0

    # 8. Exports built on the worker, downloaded and loaded with `datasets`.
    import datasets

    def export(kind: str) -> Any:
        built = eng.post("/exports", json={"project": "loop-bot", "kind": kind, "format": "jsonl"})
        assert built.status_code == 202, built.text
        done = _poll(eng, f"/exports/{built.json()['id']}", f"the {kind} export")
        path = tmp_path / f"{kind}.jsonl"
        download = eng.get(f"/exports/{done['id']}/download")
        assert download.status_code == 200
        path.write_bytes(download.content)
        return done, datasets.load_dataset("json", data_files=str(path), split="train")

    sft_export, sft = export("sft")
    # Thirteen corrected answers and three approved ones, each a distinct prompt.
    assert sft_export["rows"] == 16 and len(sft) == 16
    final_turns = {row["messages"][-1]["content"] for row in sft}
    assert "Ask the account owner for the invoice through Billing." in final_turns
    assert f"Open Billing, then Invoices ({DISPUTED})." in final_turns
    assert not any("@example.com" in turn for turn in final_turns)

    preference_export, preference = export("preference")
    assert preference_export["rows"] == 13 and len(preference) == 13
    for row in preference:
        assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
    rejected = {row["rejected"][0]["content"] for row in preference}
    assert _interaction(DISPUTED)["response"] in rejected
