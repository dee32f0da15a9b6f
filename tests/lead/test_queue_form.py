from __future__ import annotations

import json
from typing import Any

from django.test import Client

from annotation.models import Check, Project, Queue
from annotation.models.review import QueueState
from tests.conftest import Persona
from tests.lead.conftest import HTMX, form_data
from tests.review.data import flag, interaction, rating
from tests.workspace.conftest import browser

NEW = "/lead/queues/new?project=support-bot"


def edit_url(queue: Queue) -> str:
    return f"/lead/queues/{queue.pk}/edit"


def test_the_new_queue_page_shows_an_editor_with_a_default_source(
    lead: Persona, annotator: Persona
) -> None:
    response = browser(lead).get(NEW)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "New queue in support-bot" in html
    assert 'name="sources-0-type"' in html
    assert '<option value="low_rated" selected>' in html
    assert 'hx-trigger="change delay:400ms"' in html
    assert 'hx-post="/lead/queues/new/preview?project=support-bot"' in html
    assert 'name="annotators" value="annotator"' in html
    assert "css/lead.css" in html and "js/lead.js" in html


def test_an_htmx_request_gets_only_the_editor(lead: Persona) -> None:
    response = browser(lead).get(NEW, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="queue-editor"')


def test_creating_a_queue_saves_it_through_the_service(
    lead: Persona, annotator: Persona, checks: dict[str, Check]
) -> None:
    data = form_data(
        sources=[
            {"type": "low_rated", "threshold": "0.3", "labels": "on"},
            {"type": "flagged", "checks": ["pii"], "min_severity": "critical"},
            {"type": "random", "rate": "0.05", "seed": "11"},
            {"type": "uncertain", "low": "0.45", "high": "0.55", "checks": ["judge"]},
            {"type": "implicit_negative", "rate": "0.5", "events": ["abandoned"]},
        ],
        priority="flagged, low_rated",
        overlap="3",
        capacity="500",
        lease_minutes="20",
        fill_every_minutes="60",
        filter_model_version="2026-10-01, 2026-11-01",
        filter_variant="B",
        since="2026-11-01T00:00",
        metadata="locale=en-GB\ntier=3",
        annotators=["annotator"],
    )

    response = browser(lead).post(NEW, data)

    queue = Queue.objects.get(project__name="support-bot", name="Weekly review")
    assert response.status_code == 302
    assert response["Location"] == edit_url(queue)
    assert queue.sources == [
        {"type": "low_rated", "threshold": 0.3},
        {"type": "flagged", "checks": ["pii"], "min_severity": "critical"},
        {"type": "random", "rate": 0.05, "seed": 11},
        {"type": "uncertain", "checks": ["judge"], "low": 0.45, "high": 0.55},
        {"type": "implicit_negative", "rate": 0.5, "events": ["abandoned"]},
    ]
    assert queue.filters == {
        "model_version": ["2026-10-01", "2026-11-01"],
        "variant": ["B"],
        "since": "2026-11-01T00:00:00Z",
        "metadata": {"locale": "en-GB", "tier": 3},
    }
    assert queue.priority == ["flagged", "low_rated"]
    assert (queue.overlap, queue.capacity, queue.lease_minutes) == (3, 500, 20)
    assert queue.fill_every_minutes == 60 and queue.next_fill_at is not None
    assert queue.seed == 7 and queue.guideline is None
    assert queue.created_by == lead.user
    assert list(queue.annotators.all()) == [annotator.user]


def test_the_saved_queue_comes_back_in_the_editor_as_it_was(
    lead: Persona, annotator: Persona, checks: dict[str, Check]
) -> None:
    client = browser(lead)
    client.post(
        NEW,
        form_data(
            sources=[{"type": "flagged", "checks": ["pii"], "min_severity": "critical"}],
            metadata='locale=en-GB\ntier="3"',
            until="2026-12-01T10:30:00Z",
        ),
    )
    queue = Queue.objects.get(name="Weekly review")

    html = client.get(edit_url(queue)).content.decode()

    assert "Created queue Weekly review." in html
    assert 'name="sources-0-checks" value="pii" id="id_sources-0-checks_3" checked>' in html
    assert 'name="sources-0-checks" value="blocklist" id="id_sources-0-checks_0">' in html
    assert '<option value="critical" selected>' in html
    assert "locale=en-GB" in html and "tier=&quot;3&quot;" in html
    assert 'value="2026-12-01T10:30:00"' in html


def test_editing_a_queue_changes_it_and_keeps_the_rest(
    lead: Persona, queue: Queue, annotator: Persona, other_annotator: Persona
) -> None:
    data = form_data(
        name="Renamed",
        sources=[{"type": "random", "rate": "0.2"}],
        annotators=["annotator", "other_annotator"],
        overlap="2",
        state="paused",
        **{"sources-INITIAL_FORMS": "1"},
    )

    response = browser(lead).post(edit_url(queue), data)

    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.name == "Renamed"
    assert queue.sources == [{"type": "random", "rate": 0.2}]
    assert queue.overlap == 2 and queue.state == QueueState.PAUSED
    assert {u.username for u in queue.annotators.all()} == {"annotator", "other_annotator"}
    follow = browser(lead).get(edit_url(queue)).content.decode()
    assert "Renamed" in follow


def test_a_removed_source_row_is_left_out(lead: Persona, queue: Queue) -> None:
    data = form_data(
        sources=[
            {"type": "low_rated", "threshold": "0.4", "labels": "on"},
            {"type": "random", "rate": "0.1", "DELETE": "on"},
            {"type": ""},
        ]
    )

    browser(lead).post(edit_url(queue), data)

    queue.refresh_from_db()
    assert queue.sources == [{"type": "low_rated", "threshold": 0.4}]


def _refused(client: Client, url: str, data: dict[str, Any]) -> str:
    response = client.post(url, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Nothing was saved" in html
    return html


def test_an_unknown_source_type_is_refused_with_the_services_message(lead: Persona) -> None:
    html = _refused(browser(lead), NEW, form_data(sources=[{"type": "sentiment"}]))

    assert "unknown source type &#x27;sentiment&#x27;; use one of low_rated, flagged" in html
    assert not Queue.objects.exists()


def test_a_rate_outside_zero_to_one_is_refused_next_to_its_source(lead: Persona) -> None:
    html = _refused(
        browser(lead),
        NEW,
        form_data(sources=[{"type": "low_rated"}, {"type": "random", "rate": "1.5"}]),
    )

    assert "1.5 is outside (0, 1]; give the share to sample, e.g. 0.01" in html
    assert not Queue.objects.exists()


def test_a_random_source_without_a_rate_is_refused(lead: Persona) -> None:
    html = _refused(browser(lead), NEW, form_data(sources=[{"type": "random"}]))

    assert "None is outside (0, 1]" in html
    assert not Queue.objects.exists()


def test_an_overlap_out_of_range_is_refused(lead: Persona) -> None:
    html = _refused(browser(lead), NEW, form_data(overlap="11"))

    assert "11 is outside 1-10; give how many annotators label each item." in html
    assert not Queue.objects.exists()


def test_a_schema_that_is_not_json_is_refused(lead: Persona) -> None:
    html = _refused(browser(lead), NEW, form_data(schema='{"fields": [}'))

    assert "Not valid JSON: Expecting value (line 1, column 13)." in html
    assert not Queue.objects.exists()


def test_a_bad_schema_is_refused_with_the_validators_messages(lead: Persona) -> None:
    schema = {"fields": [{"name": "verdict", "type": "choice"}, {"name": "x", "type": "stars"}]}

    html = _refused(browser(lead), NEW, form_data(schema=json.dumps(schema)))

    assert "schema.fields[0].options" in html
    assert "schema.fields[1].type" in html
    assert not Queue.objects.exists()


def test_the_form_comes_back_as_typed_after_a_refusal(lead: Persona) -> None:
    html = _refused(
        browser(lead),
        NEW,
        form_data(name="Typed name", overlap="0", filter_model="gpt-x, gpt-y"),
    )

    assert 'value="Typed name"' in html
    assert 'value="gpt-x, gpt-y"' in html


def test_an_invalid_edit_changes_nothing(lead: Persona, queue: Queue) -> None:
    before = (queue.name, queue.sources, queue.overlap)

    _refused(
        browser(lead),
        edit_url(queue),
        form_data(name="Changed", sources=[{"type": "random", "rate": "0"}]),
    )

    queue.refresh_from_db()
    assert (queue.name, queue.sources, queue.overlap) == before


def test_unknown_checks_and_bad_filters_get_specific_messages(
    lead: Persona, checks: dict[str, Check]
) -> None:
    html = _refused(
        browser(lead),
        NEW,
        form_data(
            sources=[{"type": "uncertain", "checks": ["pii"]}],
            since="yesterday",
            metadata="no equals sign",
        ),
    )

    assert "&#x27;pii&#x27; are rule checks; uncertain samples evaluator scores" in html
    assert "&#x27;yesterday&#x27; is not a date and time" in html
    assert "line 1: &#x27;no equals sign&#x27; is not key=value." in html
    assert not Queue.objects.exists()


def test_a_second_queue_with_the_same_name_is_refused(lead: Persona, queue: Queue) -> None:
    html = _refused(browser(lead), NEW, form_data(name="Weekly review"))

    assert "support-bot already has a queue named &#x27;Weekly review&#x27;" in html
    assert Queue.objects.count() == 1


def test_a_priority_naming_no_source_is_refused(lead: Persona) -> None:
    html = _refused(browser(lead), NEW, form_data(priority="flagged"))

    assert "&#x27;flagged&#x27; not among the sources; use low_rated" in html


def test_the_new_page_needs_a_project_the_user_leads(lead: Persona, outsider: Persona) -> None:
    assert browser(lead).get("/lead/queues/new").status_code == 404
    assert browser(lead).get("/lead/queues/new?project=other-bot").status_code == 404
    assert browser(outsider).get(NEW).status_code == 404


def test_the_preview_counts_what_each_source_would_add(
    lead: Persona, project: Project, checks: dict[str, Check]
) -> None:
    low = [interaction(project, f"low-{n}") for n in range(3)]
    for item in low:
        rating(item, 0.0)
    rating(interaction(project, "high"), 1.0)
    flag(low[0], checks["pii"])
    flag(interaction(project, "flagged-only"), checks["pii"])
    flag(interaction(project, "blocked"), checks["blocklist"])
    data = form_data(
        sources=[
            {"type": "low_rated", "threshold": "0.4", "labels": "on"},
            {"type": "flagged", "checks": ["pii"], "min_severity": "warning"},
        ],
        capacity="3",
    )

    response = browser(lead).post("/lead/queues/new/preview?project=support-bot", data, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="preview"')
    assert (
        '<tr data-source="low_rated"><th scope="row">low_rated</th>'
        "<td data-candidates>3</td><td data-adds>3</td></tr>"
    ) in html
    # Capacity 3 keeps the low-rated ones (first in priority); one of them is flagged too.
    assert (
        '<tr data-source="flagged"><th scope="row">flagged</th>'
        "<td data-candidates>2</td><td data-adds>1</td></tr>"
    ) in html
    assert "<td data-candidates>4</td><td data-adds>3</td>" in html
    assert "Room for 3 more unfinished items." in html
    assert not Queue.objects.exists()


def test_the_preview_of_an_edit_leaves_out_what_the_queue_holds(
    lead: Persona, project: Project, queue: Queue
) -> None:
    from annotation.services.queues import queue_fill_now

    for n in range(2):
        rating(interaction(project, f"low-{n}"), 0.0)
    queue_fill_now(queue=queue)
    rating(interaction(project, "low-new"), 0.0)

    response = browser(lead).post(f"/lead/queues/{queue.pk}/preview", form_data(), **HTMX)

    assert "<td data-candidates>1</td><td data-adds>1</td>" in response.content.decode()


def test_the_preview_shows_why_it_cannot_count(lead: Persona) -> None:
    response = browser(lead).post(
        "/lead/queues/new/preview?project=support-bot",
        form_data(sources=[{"type": "random", "rate": "2"}]),
        **HTMX,
    )

    html = response.content.decode()
    assert "Fix the sampling rules to see a preview" in html
    assert "sources[0].rate: 2.0 is outside (0, 1]" in html


def test_without_javascript_the_preview_and_add_a_source_return_the_whole_page(
    lead: Persona,
) -> None:
    data = form_data(add_source="1")

    response = browser(lead).post("/lead/queues/new/preview?project=support-bot", data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert 'name="sources-1-type"' in html and 'name="sources-2-type"' not in html
    assert "<td data-candidates>0</td>" in html
    assert not Queue.objects.exists()
