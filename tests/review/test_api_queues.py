from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Annotation, Project, Queue, QueueFill, QueueItem
from annotation.services.guidelines import guideline_publish
from annotation.services.queues import queue_fill_now
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA
from tests.review.data import interaction, rating

QUEUES = "/api/v1/queues"


def definition(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project": "support-bot",
        "name": "Weekly review",
        "sources": [
            {"type": "low_rated", "threshold": 0.4},
            {"type": "flagged", "checks": ["pii"], "min_severity": "warning"},
            {"type": "random", "rate": 0.01, "seed": 7},
        ],
        "filters": {"model_version": ["2026-10-01"], "since": "2026-11-01T00:00:00Z"},
        "overlap": 2,
        "capacity": 500,
        "lease_minutes": 15,
        "annotators": ["annotator", "other_annotator"],
        "schema": REVIEW_SCHEMA,
    }
    body.update(changes)
    return body


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_a_lead_creates_a_queue(
    lead: Persona, annotator: Persona, other_annotator: Persona
) -> None:
    response = lead.client().post(QUEUES, definition(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["project"] == "support-bot"
    assert body["annotators"] == ["annotator", "other_annotator"]
    assert body["state"] == "active"
    assert body["guideline_version"] is None
    assert body["last_fill"] is None
    assert Queue.objects.get(pk=body["id"]).created_by == lead.user


@pytest.mark.parametrize(
    ("persona", "status"),
    [("annotator", 403), ("engineer", 403), ("outsider", 404)],
)
def test_only_leads_create_queues(
    request: pytest.FixtureRequest, persona: str, status: int, lead: Persona
) -> None:
    client = request.getfixturevalue(persona).client()

    response = client.post(QUEUES, definition(annotators=[]), format="json")

    assert response.status_code == status
    assert error_of(response)["code"] in {"forbidden", "not_found"}


@pytest.mark.parametrize(
    ("changes", "field", "hint"),
    [
        ({"sources": [{"type": "popular"}]}, "sources", "unknown source type 'popular'"),
        ({"sources": [{"type": "random", "rate": 1.5}]}, "sources", "outside (0, 1]"),
        ({"sources": [{"type": "random", "rate": 0}]}, "sources", "outside (0, 1]"),
        ({"overlap": 0}, "overlap", "greater than or equal to 1"),
        ({"overlap": 11}, "overlap", "less than or equal to 10"),
        (
            {
                "schema": {
                    "fields": [
                        {"name": "r", "type": "multi_choice", "options": {"taxonomy": ["rude"]}}
                    ]
                }
            },
            "schema",
            "'rude' not in the project's taxonomy",
        ),
        ({"annotators": ["nobody"]}, "annotators", "unknown users: nobody"),
        ({"annotators": ["outsider"]}, "annotators", "not members"),
        ({"guideline_version": 4}, "guideline_version", "publish it first"),
        ({"filters": {"colour": "red"}}, "filters", "unknown filter"),
    ],
)
def test_bad_definitions_get_a_specific_400(
    lead: Persona,
    outsider: Persona,
    changes: dict[str, Any],
    field: str,
    hint: str,
) -> None:
    response = lead.client().post(
        QUEUES, definition(**{"annotators": [], **changes}), format="json"
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_queue"
    assert hint in str(error["details"][field]), error
    assert not Queue.objects.exists()


def test_a_missing_field_and_a_duplicate_name_are_explained(lead: Persona) -> None:
    missing = lead.client().post(QUEUES, {"project": "support-bot", "name": "x"}, format="json")
    lead.client().post(QUEUES, definition(annotators=[]), format="json")
    duplicate = lead.client().post(QUEUES, definition(annotators=[]), format="json")

    assert set(error_of(missing)["details"]) == {"sources", "schema"}
    assert duplicate.status_code == 400
    assert "already has a queue named" in error_of(duplicate)["message"]


def test_who_lists_which_queues(
    project: Project,
    lead: Persona,
    engineer: Persona,
    annotator: Persona,
    other_annotator: Persona,
    outsider: Persona,
) -> None:
    lead.client().post(QUEUES, definition(annotators=["annotator"]), format="json")
    lead.client().post(QUEUES, definition(name="Second", annotators=[]), format="json")

    def names(persona: Persona) -> list[str]:
        response = persona.client().get(QUEUES)
        assert response.status_code == 200
        return [queue["name"] for queue in response.json()]

    assert names(lead) == ["Second", "Weekly review"]
    assert names(engineer) == ["Second", "Weekly review"]
    assert names(annotator) == ["Weekly review"]
    assert names(other_annotator) == []
    assert names(outsider) == []


def test_reading_and_editing_a_queue(
    lead: Persona,
    engineer: Persona,
    annotator: Persona,
    other_annotator: Persona,
    outsider: Persona,
) -> None:
    queue_id = (
        lead.client().post(QUEUES, definition(annotators=["annotator"]), format="json").json()["id"]
    )
    url = f"{QUEUES}/{queue_id}"

    assert lead.client().get(url).status_code == 200
    assert engineer.client().get(url).status_code == 200
    assert annotator.client().get(url).status_code == 200
    assert other_annotator.client().get(url).status_code == 404
    assert outsider.client().get(url).status_code == 404
    assert engineer.client().patch(url, {"state": "paused"}, format="json").status_code == 403
    assert annotator.client().patch(url, {"state": "paused"}, format="json").status_code == 403
    assert outsider.client().patch(url, {"state": "paused"}, format="json").status_code == 404

    response = lead.client().patch(
        url,
        {"state": "paused", "annotators": ["annotator", "other_annotator"], "overlap": 3},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["overlap"]) == ("paused", 3)
    assert body["annotators"] == ["annotator", "other_annotator"]
    bad = lead.client().patch(url, {"sources": [{"type": "random", "rate": 2}]}, format="json")
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "invalid_queue"


def test_a_fill_runs_as_a_task_and_reports_counts_by_reason(
    project: Project,
    lead: Persona,
    engineer: Persona,
    annotator: Persona,
    django_capture_on_commit_callbacks: Any,
) -> None:
    for n in range(3):
        rating(interaction(project, f"low-{n}"), 0.0)
    queue_id = (
        lead.client()
        .post(
            QUEUES,
            definition(annotators=[], filters={}, sources=[{"type": "low_rated"}]),
            format="json",
        )
        .json()["id"]
    )

    # Not assigned to the queue, the annotator cannot even see it.
    assert annotator.client().post(f"{QUEUES}/{queue_id}/fill").status_code == 404
    assert engineer.client().post(f"{QUEUES}/{queue_id}/fill").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = lead.client().post(f"{QUEUES}/{queue_id}/fill")

    assert response.status_code == 202
    started = response.json()
    assert started["task_id"]
    done = engineer.client().get(f"{QUEUES}/{queue_id}/fill/{started['id']}").json()
    assert (done["status"], done["added"], done["by_reason"]) == ("done", 3, {"low_rated": 3})
    assert lead.client().get(f"{QUEUES}/{queue_id}").json()["last_fill"]["id"] == started["id"]
    assert engineer.client().get(f"{QUEUES}/{queue_id}/fill/999999").status_code == 404


def test_the_preview_adds_nothing(project: Project, lead: Persona, annotator: Persona) -> None:
    for n in range(3):
        rating(interaction(project, f"low-{n}"), 0.0)
    queue_id = (
        lead.client()
        .post(
            QUEUES,
            definition(annotators=[], filters={}, sources=[{"type": "low_rated"}]),
            format="json",
        )
        .json()["id"]
    )

    response = lead.client().get(f"{QUEUES}/{queue_id}/fill/preview")

    assert response.status_code == 200
    assert response.json() == {
        "room": 500,
        "candidates": 3,
        "candidates_by_reason": {"low_rated": 3},
        "would_add": 3,
        "would_add_by_reason": {"low_rated": 3},
        "strata": {"low_rated": {"candidates": 3, "taken": 3}},
    }
    assert not QueueItem.objects.exists()
    assert annotator.client().get(f"{QUEUES}/{queue_id}/fill/preview").status_code == 404


@pytest.fixture
def filled(project: Project, lead: Persona, annotator: Persona, other_annotator: Persona) -> Queue:
    for n in range(2):
        target = interaction(
            project,
            f"low-{n}",
            retrieved_context=[{"id": "kb-7", "text": "…", "score": 0.8, "source": "kb"}],
        )
        rating(target, 0.0)
    queue = Queue.objects.get(
        pk=lead.client()
        .post(QUEUES, definition(filters={}, sources=[{"type": "low_rated"}]), format="json")
        .json()["id"]
    )
    queue_fill_now(queue=queue)
    guideline_publish(project=project, text="# Be kind")
    return queue


def test_next_leases_an_item_with_everything_needed_to_annotate_it(
    filled: Queue, annotator: Persona
) -> None:
    response = annotator.client().post(f"{QUEUES}/{filled.pk}/next")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"item", "lease", "schema", "guideline"}
    assert body["item"]["reasons"] == ["low_rated"]
    assert body["item"]["inclusion_probability"] == 1.0
    assert body["item"]["interaction"]["response"] == "Open Settings, then Security."
    assert "user_id" not in body["item"]["interaction"]
    assert body["lease"]["expires_at"]
    assert body["schema"] == REVIEW_SCHEMA
    assert body["guideline"] == {"version": 1, "text": "# Be kind"}


def test_next_is_for_assigned_annotators(
    filled: Queue, lead: Persona, engineer: Persona, outsider: Persona
) -> None:
    assert lead.client().post(f"{QUEUES}/{filled.pk}/next").status_code == 403
    assert engineer.client().post(f"{QUEUES}/{filled.pk}/next").status_code == 403
    assert outsider.client().post(f"{QUEUES}/{filled.pk}/next").status_code == 404


def test_annotating_until_the_queue_is_empty(
    filled: Queue, annotator: Persona, lead: Persona
) -> None:
    client = annotator.client()
    for _ in range(2):
        item = client.post(f"{QUEUES}/{filled.pk}/next").json()["item"]
        response = client.post(
            f"/api/v1/items/{item['id']}/annotations",
            {"values": {"verdict": "bad", "reasons": ["incorrect"]}, "seconds": 12.5},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert response.json()["guideline_version"] == 1

    assert client.post(f"{QUEUES}/{filled.pk}/next").status_code == 204
    stats = lead.client().get(f"{QUEUES}/{filled.pk}/stats").json()
    assert stats["total"] == 2
    assert stats["by_state"]["open"] == 2
    assert stats["by_reason"] == {"low_rated": 2}
    assert stats["annotators"] == [
        {
            "username": "annotator",
            "done": 2,
            "skipped": 0,
            "median_seconds": 12.5,
            "last_hour": 2,
        }
    ]
    assert stats["median_window"] == 200
    assert stats["throughput_per_hour"] == 2
    assert stats["skip_rate"] == 0.0


def test_bad_submissions_get_specific_errors_and_lose_nothing(
    filled: Queue, annotator: Persona, other_annotator: Persona
) -> None:
    item = annotator.client().post(f"{QUEUES}/{filled.pk}/next").json()["item"]
    url = f"/api/v1/items/{item['id']}/annotations"
    good = {"values": {"verdict": "bad"}}

    invalid = annotator.client().post(
        url, {"values": {"verdict": "meh", "rating": 9, "docs": {}}}, format="json"
    )
    others = other_annotator.client().post(url, good, format="json")
    unleased_item = QueueItem.objects.exclude(pk=item["id"]).get()
    unleased = annotator.client().post(
        f"/api/v1/items/{unleased_item.pk}/annotations", good, format="json"
    )
    malformed = annotator.client().post(url, {"verdict": "bad"}, format="json")
    first = annotator.client().post(url, good, format="json")
    double = annotator.client().post(url, good, format="json")

    assert invalid.status_code == 400
    details = {e["field"] for e in error_of(invalid)["details"]["errors"]}
    assert details == {"values.verdict", "values.rating", "values.docs"}
    assert (others.status_code, error_of(others)["code"]) == (403, "not_your_lease")
    assert (unleased.status_code, error_of(unleased)["code"]) == (409, "no_lease")
    assert (malformed.status_code, error_of(malformed)["code"]) == (400, "invalid_annotation")
    assert first.status_code == 201
    assert (double.status_code, error_of(double)["code"]) == (409, "already_submitted")
    assert Annotation.objects.count() == 1


def test_skip_and_revise(filled: Queue, annotator: Persona, other_annotator: Persona) -> None:
    client = annotator.client()
    item = client.post(f"{QUEUES}/{filled.pk}/next").json()["item"]
    annotation = client.post(
        f"/api/v1/items/{item['id']}/annotations", {"values": {"verdict": "bad"}}, format="json"
    ).json()
    second = client.post(f"{QUEUES}/{filled.pk}/next").json()["item"]

    skipped = client.post(f"/api/v1/items/{second['id']}/skip")
    revised = client.patch(
        f"/api/v1/annotations/{annotation['id']}", {"values": {"verdict": "good"}}, format="json"
    )
    someone_else = other_annotator.client().patch(
        f"/api/v1/annotations/{annotation['id']}", {"values": {"verdict": "bad"}}, format="json"
    )

    assert skipped.status_code == 200
    assert skipped.json()["state"] == "skipped"
    assert revised.status_code == 200
    assert (revised.json()["values"], revised.json()["revision"]) == ({"verdict": "good"}, 2)
    assert someone_else.status_code == 404
    assert client.post(f"{QUEUES}/{filled.pk}/next").status_code == 204


def test_guidelines_are_published_by_leads_and_read_by_members(
    project: Project, lead: Persona, annotator: Persona, outsider: Persona
) -> None:
    published = lead.client().post(
        "/api/v1/guidelines", {"project": "support-bot", "text": "# v1"}, format="json"
    )
    again = lead.client().post(
        "/api/v1/guidelines", {"project": "support-bot", "text": "# v2"}, format="json"
    )

    assert (published.status_code, published.json()["version"]) == (201, 1)
    assert again.json()["version"] == 2
    listed = annotator.client().get("/api/v1/guidelines?project=support-bot").json()
    assert [g["version"] for g in listed] == [2, 1]
    refused = annotator.client().post(
        "/api/v1/guidelines", {"project": "support-bot", "text": "# mine"}, format="json"
    )
    assert refused.status_code == 403
    assert outsider.client().get("/api/v1/guidelines?project=support-bot").status_code == 404


def test_the_schema_documents_the_review_endpoints(db: Any) -> None:
    from django.test import Client

    paths = Client().get("/api/schema/?format=json").json()["paths"]

    assert {
        "/api/v1/queues",
        "/api/v1/queues/{queue_id}",
        "/api/v1/queues/{queue_id}/fill",
        "/api/v1/queues/{queue_id}/fill/preview",
        "/api/v1/queues/{queue_id}/fill/{fill_id}",
        "/api/v1/queues/{queue_id}/stats",
        "/api/v1/queues/{queue_id}/next",
        "/api/v1/items/{item_id}/annotations",
        "/api/v1/items/{item_id}/skip",
        "/api/v1/annotations/{annotation_id}",
    } <= set(paths)
    create = paths["/api/v1/queues"]["post"]["requestBody"]["content"]["application/json"]
    assert "Weekly review" in {e["summary"] for e in create["examples"].values()}


def test_fills_are_listed_per_queue(filled: Queue) -> None:
    assert QueueFill.objects.filter(queue=filled).count() == 1
