from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Feedback
from tests.conftest import KeyedProject
from tests.factories import InteractionFactory

URL = "/api/v1/feedback"


@pytest.fixture
def stored(keyed_project: KeyedProject) -> Any:
    return InteractionFactory(project=keyed_project.project, request_id="req-123")


def post(client: APIClient, body: Any) -> Any:
    return client.post(URL, body, format="json")


@pytest.mark.parametrize(
    ("value", "scale", "normalized"),
    [
        (0, "thumbs", 0.0),
        (1, "thumbs", 1.0),
        (1, "stars5", 0.0),
        (2, "stars5", 0.25),
        (5, "stars5", 1.0),
        (0, "score10", 0.0),
        (7.5, "score10", 0.75),
        (10, "score10", 1.0),
    ],
)
def test_it_normalises_ratings(
    ingest_client: APIClient, stored: Any, value: float, scale: str, normalized: float
) -> None:
    response = post(
        ingest_client, {"request_id": "req-123", "kind": "rating", "value": value, "scale": scale}
    )

    assert response.status_code == 201
    feedback = Feedback.objects.get()
    assert (feedback.value, feedback.scale) == (value, scale)
    assert feedback.normalized_score == pytest.approx(normalized)
    assert feedback.interaction == stored


@pytest.mark.parametrize(
    ("value", "scale"),
    [
        (2, "thumbs"),
        (0, "stars5"),
        (6, "stars5"),
        (2.5, "stars5"),
        (11, "score10"),
        (-1, "score10"),
    ],
)
def test_it_refuses_ratings_outside_their_scale(
    ingest_client: APIClient, stored: Any, value: float, scale: str
) -> None:
    response = post(
        ingest_client, {"request_id": "req-123", "kind": "rating", "value": value, "scale": scale}
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "value"
    assert not Feedback.objects.exists()


def test_it_stores_every_kind_in_one_batch(ingest_client: APIClient, stored: Any) -> None:
    items = [
        {"request_id": "req-123", "kind": "rating", "value": 2, "scale": "stars5"},
        {"request_id": "req-123", "kind": "label", "labels": ["incorrect", "unhelpful"]},
        {"request_id": "req-123", "kind": "correction", "text": "The right answer is…"},
        {"request_id": "req-123", "kind": "comment", "text": "It ignored my second question"},
        {"request_id": "req-123", "kind": "implicit", "event": "dwell", "value": 12.5},
        {"request_id": "req-123", "kind": "implicit", "event": "regenerated"},
    ]

    response = post(ingest_client, {"items": items})

    assert response.status_code == 201
    assert response.json() == {
        "created": 6,
        "duplicates": [],
        "awaiting_interaction": [],
        "errors": [],
    }
    rows = {f.kind + f.event: f for f in Feedback.objects.all()}
    assert rows["label"].labels == ["incorrect", "unhelpful"]
    assert rows["correction"].text == "The right answer is…"
    assert rows["comment"].text == "It ignored my second question"
    assert rows["implicitdwell"].value == 12.5
    assert rows["implicitregenerated"].value is None
    assert all(f.interaction_id == stored.pk for f in rows.values())


def test_it_keeps_feedback_for_an_unseen_request_id(ingest_client: APIClient, db: Any) -> None:
    response = post(ingest_client, {"request_id": "later", "kind": "comment", "text": "slow"})

    assert response.status_code == 201
    assert response.json()["awaiting_interaction"] == ["later"]
    assert Feedback.objects.get().interaction is None


def test_it_refuses_labels_outside_the_taxonomy(ingest_client: APIClient, stored: Any) -> None:
    items = [
        {"request_id": "req-123", "kind": "label", "labels": ["incorrect"]},
        {"request_id": "req-123", "kind": "label", "labels": ["incorrect", "rude"]},
    ]

    response = post(ingest_client, {"items": items})

    assert response.status_code == 207
    error = response.json()["errors"][0]
    assert (error["index"], error["field"]) == (1, "labels[1]")
    assert "rude" in error["message"] and "off_topic" in error["message"]
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"request_id": "req-123", "kind": "mood"}, "kind"),
        ({"request_id": "req-123"}, "kind"),
        ({"request_id": "req-123", "kind": "implicit", "event": "dwell"}, "value"),
        ({"request_id": "req-123", "kind": "implicit", "event": "stare"}, "event"),
        ({"request_id": "req-123", "kind": "label", "labels": []}, "labels"),
        ({"request_id": "req-123", "kind": "correction", "text": ""}, "text"),
        ({"request_id": "req-123", "kind": "rating", "value": 1}, "scale"),
        ({"request_id": "req-123", "kind": "rating", "value": 1, "scale": "thumbs", "x": 1}, "x"),
        ({"request_id": "req-123", "kind": "comment", "text": "x", "source": "reviewer"}, "source"),
    ],
)
def test_it_names_the_field_of_bad_feedback(
    ingest_client: APIClient, stored: Any, body: dict[str, Any], field: str
) -> None:
    response = post(ingest_client, body)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == field
    assert not Feedback.objects.exists()


def test_a_key_cannot_attach_feedback_to_another_projects_interaction(
    other_keyed_project: KeyedProject, stored: Any
) -> None:
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_keyed_project.key}")

    response = post(other, {"request_id": "req-123", "kind": "comment", "text": "mine?"})

    assert response.json()["awaiting_interaction"] == ["req-123"]
    feedback = Feedback.objects.get()
    assert feedback.project == other_keyed_project.project
    assert feedback.interaction is None


def test_a_nul_character_in_feedback_is_refused(ingest_client: APIClient, stored: Any) -> None:
    response = post(ingest_client, {"request_id": "req-123", "kind": "comment", "text": "a\u0000b"})

    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "text"
    assert not Feedback.objects.exists()


def test_a_feedback_id_makes_retries_safe(ingest_client: APIClient, stored: Any) -> None:
    first = {
        "request_id": "req-123",
        "kind": "rating",
        "value": 0,
        "scale": "thumbs",
        "feedback_id": "fb-1",
    }
    other = {"request_id": "req-123", "kind": "comment", "text": "again", "feedback_id": "fb-2"}
    anonymous = {"request_id": "req-123", "kind": "comment", "text": "no id"}
    post(ingest_client, first)

    retry = post(ingest_client, {"items": [first, other, other, anonymous]})

    assert retry.status_code == 201
    assert retry.json()["created"] == 2
    assert sorted(retry.json()["duplicates"]) == ["fb-1", "fb-2"]
    assert Feedback.objects.filter(feedback_id="fb-1").count() == 1
    assert Feedback.objects.filter(feedback_id="fb-2").count() == 1
    assert Feedback.objects.filter(feedback_id="").count() == 1
    assert post(ingest_client, first).status_code == 200


def test_feedback_ids_are_per_project(
    keyed_project: KeyedProject, other_keyed_project: KeyedProject, stored: Any
) -> None:
    body = {"request_id": "req-123", "kind": "comment", "text": "x", "feedback_id": "fb-1"}
    mine, theirs = APIClient(), APIClient()
    mine.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed_project.key}")
    theirs.credentials(HTTP_AUTHORIZATION=f"Bearer {other_keyed_project.key}")

    assert post(mine, body).json()["created"] == 1
    assert post(theirs, body).json()["created"] == 1
