"""Numbers no schema admits (thousands of digits, inf, nan) are refused by field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Annotation, ItemState, Project, Queue, QueueItem
from annotation.schemas.label_schema import parse_schema, schema_errors, values_errors
from annotation.services.annotations import (
    AnnotationInvalid,
    annotation_revise,
    annotation_submit,
    item_adjudicate,
)
from annotation.services.leasing import lease_next
from tests.conftest import Persona
from tests.review.conftest import make_queue
from tests.review.test_leasing import BAD, GOOD, fill_with
from tests.workspace.conftest import browser

HUGE = 10**5000  # past Python's 4,300-digit limit for int → str: no repr, no JSON
NUMBERS = [HUGE, -HUGE, 10**40, float("inf"), float("-inf"), float("nan"), 1e308]
NUMBER_IDS = ["5001-digits", "minus-5001-digits", "41-digits", "inf", "-inf", "nan", "1e308"]

EVERY_TYPE = {
    "fields": [
        {"name": "verdict", "type": "choice", "options": ["good", "bad"], "agreement": True},
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "rating", "type": "likert", "min": 1, "max": 5},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
        {"name": "docs", "type": "relevance"},
        {"name": "preferred", "type": "pairwise"},
    ]
}
DOCS = [{"id": "kb-7", "text": "…"}]


def bad_values(name: str, number: Any) -> dict[str, Any]:
    """`number` where field `name` wants its own kind of value, in every place it can go."""
    if name == "multi_choice":
        return {"reasons": [number]}
    if name == "relevance":
        return {"docs": {"kb-7": number}}
    return {name: number}


@pytest.mark.parametrize("number", NUMBERS, ids=NUMBER_IDS)
@pytest.mark.parametrize(
    "field",
    ["verdict", "multi_choice", "rating", "correction", "comment", "relevance", "preferred"],
)
def test_every_field_type_names_a_number_it_cannot_take(field: str, number: Any) -> None:
    values = bad_values(field, number)
    place = {"multi_choice": "reasons", "relevance": "docs"}.get(field, field)

    errors = values_errors(
        values,
        fields=parse_schema(EVERY_TYPE),
        taxonomy=["incorrect", "unsafe"],
        document_ids=["kb-7"],
    )

    assert [error.field for error in errors] == [f"values.{place}"]
    assert all(len(error.message) < 300 for error in errors)


def test_a_likert_value_of_5000_digits_is_refused_on_submit_revise_and_adjudicate(
    project: Project, annotator: Persona, other_annotator: Persona, lead: Persona
) -> None:
    queue = make_queue(project, [annotator, other_annotator], overlap=2)
    (item,) = fill_with(queue, 1)
    lease_next(queue=queue, annotator=annotator.user)

    with pytest.raises(AnnotationInvalid) as submitted:
        annotation_submit(
            item_id=item.pk, annotator=annotator.user, values={"verdict": "bad", "rating": HUGE}
        )
    mine = annotation_submit(item_id=item.pk, annotator=annotator.user, values=BAD)
    with pytest.raises(AnnotationInvalid) as revised:
        annotation_revise(
            annotation_id=mine.pk,
            annotator=annotator.user,
            values={"verdict": "bad", "rating": float("nan")},
        )
    lease_next(queue=queue, annotator=other_annotator.user)
    annotation_submit(item_id=item.pk, annotator=other_annotator.user, values=GOOD)
    assert QueueItem.objects.get(pk=item.pk).state == ItemState.NEEDS_ADJUDICATION
    with pytest.raises(AnnotationInvalid) as adjudicated:
        item_adjudicate(item_id=item.pk, lead=lead.user, values={"verdict": "bad", "rating": -HUGE})

    for raised in (submitted, revised, adjudicated):
        assert [e.field for e in raised.value.errors] == ["values.rating"]
    assert "5,001 digits" in submitted.value.errors[0].message


def test_likert_bounds_stay_small_whole_numbers() -> None:
    schema = {"fields": [{"name": "rating", "type": "likert", "min": 10**30, "max": 10**30 + 4}]}

    errors = schema_errors(schema, taxonomy=[])

    assert errors == ["schema.fields[0]: min and max must be within ±1,000,000, e.g. 1 and 5"]


def test_the_api_names_the_field_of_a_number_too_large_for_any_column(
    annotator: Persona, review_queue: Queue
) -> None:
    fill_with(review_queue, 1)
    client = annotator.client()
    item = client.post(f"/api/v1/queues/{review_queue.pk}/next").json()["item"]
    url = f"/api/v1/items/{item['id']}/annotations"

    responses = [
        client.generic("POST", url, body, content_type="application/json")
        for body in (
            '{"values": {"verdict": "bad", "rating": ' + "9" * 4000 + "}}",
            '{"values": {"verdict": "bad", "rating": 1e400}}',
            '{"values": {"verdict": "bad", "rating": -1e400}}',
        )
    ]

    for response in responses:
        assert response.status_code == 400, response.content
        errors = response.json()["error"]["details"]["errors"]
        assert [e["field"] for e in errors] == ["values.rating"]
    assert not Annotation.objects.exists()


def test_the_api_names_a_likert_of_5000_digits_on_submit_and_revise(
    annotator: Persona, review_queue: Queue
) -> None:
    fill_with(review_queue, 1)
    client = annotator.client()
    item = client.post(f"/api/v1/queues/{review_queue.pk}/next").json()["item"]
    body = '{"values": {"verdict": "bad", "rating": ' + "9" * 5000 + "}}"

    submitted = client.generic(
        "POST", f"/api/v1/items/{item['id']}/annotations", body, content_type="application/json"
    )
    created = client.post(
        f"/api/v1/items/{item['id']}/annotations", {"values": BAD}, format="json"
    ).json()
    revised = client.generic(
        "PATCH", f"/api/v1/annotations/{created['id']}", body, content_type="application/json"
    )

    for response in (submitted, revised):
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["details"]["field"]) == ("invalid_number", "values.rating")
        assert "5,000 digits" in error["message"]
    assert Annotation.objects.get().values == BAD


def test_the_workspace_shows_the_error_next_to_a_likert_of_5000_digits(
    project: Project, annotator: Persona
) -> None:
    queue = make_queue(project, [annotator], overlap=1)
    (item,) = fill_with(queue, 1)
    client = browser(annotator)
    client.post(f"/queues/{queue.pk}/work", follow=True)

    response = client.post(
        f"/queues/{queue.pk}/items/{item.pk}/submit", {"verdict": "bad", "rating": "9" * 5000}
    )
    superscript = client.post(
        f"/queues/{queue.pk}/items/{item.pk}/submit", {"verdict": "bad", "rating": "²"}
    )

    assert response.status_code == 422
    assert superscript.status_code == 422
    assert "give a whole number from 1 to 5" in response.content.decode()
    assert not Annotation.objects.exists()
