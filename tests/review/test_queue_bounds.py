"""Queue definitions whose values would pass and then break every fill, preview and edit page
are refused up front, in the API and the queue editor alike; the editor's source rows are
capped."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Project, Queue
from annotation.models.review import MAX_FILL_EVERY_MINUTES
from annotation.schemas.queue_definition import MAX_LAST_HOURS, MAX_SOURCES
from annotation.selectors.sampling import queue_sample_preview
from annotation.services.queues import queue_fill_now
from tests.conftest import Persona
from tests.lead.conftest import form_data, sources_data
from tests.review.conftest import make_queue
from tests.review.data import interaction, rating
from tests.review.test_api_queues import QUEUES, definition, error_of
from tests.workspace.conftest import browser

NEW = "/lead/queues/new?project=support-bot"


@pytest.mark.parametrize(
    ("changes", "field", "hint"),
    [
        ({"filters": {"since": "2026-02-30T00:00:00Z"}}, "filters", "filters.since"),
        ({"filters": {"until": "2026-13-01T00:00:00Z"}}, "filters", "filters.until"),
        ({"filters": {"since": "0001-01-01T00:00:00+14:00"}}, "filters", "filters.since"),
        ({"filters": {"last_hours": 10**12}}, "filters", "filters.last_hours"),
        ({"filters": {"last_hours": MAX_LAST_HOURS + 1}}, "filters", "filters.last_hours"),
        ({"fill_every_minutes": 10**12}, "fill_every_minutes", "less than or equal to 40320"),
        ({"fill_every_minutes": MAX_FILL_EVERY_MINUTES + 1}, "fill_every_minutes", "40320"),
    ],
)
def test_the_api_refuses_values_that_would_break_the_queue_later(
    lead: Persona, changes: dict[str, Any], field: str, hint: str
) -> None:
    response = lead.client().post(QUEUES, definition(annotators=[], **changes), format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] in {"invalid", "invalid_queue"}
    assert hint in " ".join(map(str, error["details"][field]))
    assert not Queue.objects.exists()


def test_a_patch_with_an_impossible_date_is_refused_and_changes_nothing(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    queue = make_queue(project, [annotator])

    response = lead.client().patch(
        f"{QUEUES}/{queue.pk}", {"filters": {"since": "2026-02-30T00:00:00Z"}}, format="json"
    )

    assert response.status_code == 400
    assert "filters.since" in error_of(response)["details"]["filters"][0]
    queue.refresh_from_db()
    assert queue.filters == {}


def test_the_longest_schedule_and_window_are_accepted_and_fill(
    lead: Persona, project: Project
) -> None:
    rating(interaction(project, "low"), 0.0)
    body = definition(
        annotators=[],
        filters={"last_hours": MAX_LAST_HOURS},
        fill_every_minutes=MAX_FILL_EVERY_MINUTES,
    )

    response = lead.client().post(QUEUES, body, format="json")

    assert response.status_code == 201, response.json()
    queue = Queue.objects.get(pk=response.json()["id"])
    assert lead.client().get(f"{QUEUES}/{queue.pk}/fill/preview").status_code == 200
    assert queue_fill_now(queue=queue).added == 1


def test_a_window_stored_before_the_bound_still_fills_and_previews(
    project: Project, annotator: Persona
) -> None:
    rating(interaction(project, "low"), 0.0)
    queue = make_queue(project, [annotator])
    Queue.objects.filter(pk=queue.pk).update(filters={"last_hours": 10**12})
    queue.refresh_from_db()

    assert queue_sample_preview(queue=queue).would_add == 1
    assert queue_fill_now(queue=queue).added == 1


def _refused(data: dict[str, Any], lead: Persona) -> str:
    response = browser(lead).post(NEW, data)
    assert response.status_code == 422
    assert not Queue.objects.exists()
    return response.content.decode()


def test_the_editor_refuses_a_schedule_or_window_beyond_the_bounds(lead: Persona) -> None:
    html = _refused(form_data(fill_every_minutes=str(10**12), last_hours=str(10**12)), lead)

    assert f"{10**12} is outside 1-{MAX_FILL_EVERY_MINUTES}; at most four weeks" in html
    assert f"{10**12} is outside 1-{MAX_LAST_HOURS}; at most ten years" in html


def test_the_editor_refuses_an_impossible_date(lead: Persona) -> None:
    html = _refused(form_data(since="2026-02-30T00:00"), lead)

    assert "&#x27;2026-02-30T00:00&#x27; is not a date and time" in html


def test_the_editor_refuses_a_date_out_of_range_next_to_its_field(lead: Persona) -> None:
    html = _refused(form_data(until="1999-12-31T00:00"), lead)

    assert "&#x27;1999-12-31T00:00:00Z&#x27; is outside the years 2000 to 2100" in html


@pytest.mark.parametrize(("rows", "total"), [(MAX_SOURCES + 1, MAX_SOURCES + 1), (1, 2_000)])
def test_the_editor_caps_its_source_rows(lead: Persona, rows: int, total: int) -> None:
    data = form_data()
    # Rows left out of the post are empty rows, which the formset builds all the same.
    data.update(
        sources_data([{"type": "random", "name": f"r{n}", "rate": "0.1"} for n in range(rows)])
    )
    data["sources-TOTAL_FORMS"] = str(total)

    response = browser(lead).post(NEW, data)

    assert response.status_code == 422
    html = response.content.decode()
    assert f"A queue takes at most {MAX_SOURCES} sources (rows); remove some." in html
    # Only as many rows as the cap are ever built.
    assert len(response.context["sources"].forms) <= MAX_SOURCES
    assert not Queue.objects.exists()


def test_the_editor_takes_as_many_sources_as_the_api(lead: Persona) -> None:
    data = form_data()
    data.update(
        sources_data(
            [{"type": "random", "name": f"r{n}", "rate": "0.1"} for n in range(MAX_SOURCES)]
        )
    )

    response = browser(lead).post(NEW, data)

    assert response.status_code == 302
    assert len(Queue.objects.get().sources) == MAX_SOURCES
