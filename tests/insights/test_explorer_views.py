"""The explorer's pages and the send-to-queue service: access, htmx partials, explained
problems, bounded queries, manual items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from annotation.models import (
    Annotation,
    AuditEvent,
    Interaction,
    Project,
    Queue,
    QueueItem,
    ReviewRollup,
)
from annotation.selectors.explorer import (
    ExplorerQuery,
    _newest_first,
    cursor_encode,
    explorer_interactions,
    explorer_page,
    explorer_query_parse,
)
from annotation.services.manual_items import (
    MAX_MANUAL_ITEMS,
    ManualAddError,
    queue_add_interactions,
)
from annotation.services.rollups import rollup_rebuild_hour
from tests.conftest import Persona
from tests.factories import (
    REVIEW_SCHEMA,
    CheckFactory,
    FeedbackFactory,
    FlagFactory,
    InteractionFactory,
    QueueFactory,
    QueueItemFactory,
    UserFactory,
)

URL = "/insights/support-bot/interactions"
HTMX = {"HTTP_HX_REQUEST": "true"}
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def client_for(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def interactions(project: Project) -> list[Interaction]:
    return [
        InteractionFactory(
            project=project,
            request_id=f"req-{i}",
            timestamp=T0 + timedelta(minutes=i),
            model_version="1.5.0-rc1" if i % 2 else "1.4.0",
            response=f"Answer number {i} about passwords",
        )
        for i in range(6)
    ]


@pytest.fixture
def queue(project: Project) -> Queue:
    return QueueFactory(project=project, name="Hand picked", schema=REVIEW_SCHEMA)


# -- access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["lead", "engineer"])
def test_it_shows_leads_and_engineers_the_interactions_newest_first(
    persona: str, request: pytest.FixtureRequest, interactions: list[Interaction]
) -> None:
    response = client_for(request.getfixturevalue(persona)).get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "Interactions of support-bot" in html
    assert html.index("req-5") < html.index("req-4") < html.index("req-0")
    assert "Answer number 5 about passwords" in html
    assert "HX-Request" in response["Vary"]


def test_it_refuses_annotators_with_a_403(annotator: Persona, interactions: Any) -> None:
    assert client_for(annotator).get(URL).status_code == 403
    pk = interactions[0].pk
    assert client_for(annotator).get(f"{URL}/{pk}").status_code == 403


def test_it_hides_the_project_from_outsiders_with_a_404(
    outsider: Persona, interactions: Any
) -> None:
    assert client_for(outsider).get(URL).status_code == 404
    assert client_for(outsider).get(f"{URL}/{interactions[0].pk}").status_code == 404
    assert client_for(outsider).post(f"{URL}/send", {}).status_code == 404


def test_it_sends_anonymous_people_to_log_in(db: Any, interactions: Any) -> None:
    for response in (
        Client().get(URL),
        Client().get(f"{URL}/{interactions[0].pk}"),
        Client().post(f"{URL}/send", {}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_annotators_may_not_send_to_a_queue(
    annotator: Persona, interactions: list[Interaction], queue: Queue
) -> None:
    response = client_for(annotator).post(
        f"{URL}/send", {"target_queue": queue.pk, "interaction": [interactions[0].pk]}
    )
    assert response.status_code == 403 and not QueueItem.objects.exists()


def test_it_rejects_post_on_pages_and_get_on_send(lead: Persona, interactions: Any) -> None:
    client = client_for(lead)
    assert client.post(URL).status_code == 405
    assert client.post(f"{URL}/{interactions[0].pk}").status_code == 405
    assert client.get(f"{URL}/send").status_code == 405


def test_only_leads_see_the_send_controls_and_may_send(
    lead: Persona, engineer: Persona, interactions: list[Interaction], queue: Queue
) -> None:
    assert 'name="target_queue"' in client_for(lead).get(URL).content.decode()
    engineer_html = client_for(engineer).get(URL).content.decode()
    assert 'name="target_queue"' not in engineer_html and 'name="interaction"' not in engineer_html

    response = client_for(engineer).post(
        f"{URL}/send", {"target_queue": queue.pk, "interaction": [interactions[0].pk]}
    )

    assert response.status_code == 403
    assert not QueueItem.objects.exists()


# -- the list --------------------------------------------------------------------------------------


def test_an_htmx_request_gets_only_the_results(lead: Persona, interactions: Any) -> None:
    response = client_for(lead).get(URL, {"model_version": "1.4.0"}, **HTMX)

    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<div id="explorer-results">')
    assert "req-4" in html and "req-5" not in html
    assert "HX-Request" in response["Vary"]


def test_restoring_a_pushed_url_gets_the_whole_page(lead: Persona, interactions: Any) -> None:
    response = client_for(lead).get(
        URL, {"model_version": "1.4.0"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX
    )
    assert "<html" in response.content.decode()


def test_it_takes_the_dashboards_link_contract(
    lead: Persona, project: Project, interactions: list[Interaction]
) -> None:
    check = CheckFactory(project=project, name="pii-strict")
    FlagFactory(check_config=check, interaction=interactions[3])
    FlagFactory(check_config=check, interaction=interactions[1], flagged=False)
    FeedbackFactory(interaction=interactions[3], normalized_score=0.0)
    FeedbackFactory(interaction=interactions[5], normalized_score=1.0)
    since = (T0 + timedelta(minutes=1)).isoformat()
    until = (T0 + timedelta(minutes=5)).isoformat()
    query = (
        f"since={since}&until={until}&model_version=1.5.0-rc1,1.4.0&model=gpt-x"
        "&prompt_template=support_answer&negative=1&flagged=pii-strict&reviewed_bad=0"
    )

    html = client_for(lead).get(f"{URL}?{query.replace('+', '%2B')}", **HTMX).content.decode()

    assert "req-3" in html
    assert all(f"req-{i}<" not in html for i in (0, 1, 2, 4, 5))


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"since": "yesterday"}, "since", "not a date"),
        ({"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"}, "since", "before"),
        ({"rating_min": "1.5"}, "rating_min", "between 0 and 1"),
        ({"rating_min": "0.8", "rating_max": "0.2"}, "rating_min", "above"),
        ({"kind": "thumbs"}, "kind", "Unknown feedback kind"),
        ({"flagged": "no-such-check"}, "flagged", "no check named"),
        ({"min_severity": "huge"}, "min_severity", "Unknown severity"),
        ({"queue": "abc"}, "queue", "queue id"),
        ({"queue": "999999"}, "queue", "has no queue"),
        ({"queue_state": "lost"}, "queue_state", "Unknown item state"),
        ({"metadata": "plan"}, "metadata", "key=value"),
        ({"negative": "maybe"}, "negative", "1 or 0"),
        ({"q": "!!!"}, "q", "no word"),
        ({"q": "x" * 201}, "q", "at most 200"),
        ({"after": "not-a-cursor"}, "after", "not a cursor"),
        ({"model": ",".join(str(i) for i in range(51))}, "model", "At most 50"),
    ],
)
def test_a_bad_filter_is_explained_instead_of_showing_rows(
    lead: Persona, interactions: Any, params: dict[str, str], field: str, words: str
) -> None:
    client = client_for(lead)
    page = client.get(URL, params)
    partial = client.get(URL, params, **HTMX)

    assert page.status_code == 400 and partial.status_code == 200
    for response in (page, partial):
        html = response.content.decode()
        assert 'id="explorer-problem"' in html and f"<strong>{field}</strong>" in html
        assert words in html
        assert "req-0" not in html


def test_a_time_offset_sent_unencoded_still_counts_as_an_offset(
    lead: Persona, project: Project, interactions: list[Interaction]
) -> None:
    # "+01:00" in a URL that was not encoded arrives as " 01:00".
    query = explorer_query_parse(
        {"since": ["2026-11-20T11:03:00 01:00"], "until": ["2026-11-20T11:05:00.5 01:00"]},
        project=project,
    )
    assert query.since == T0 + timedelta(minutes=3)
    html = client_for(lead).get(f"{URL}?since=2026-11-20T11:03:00+01:00", **HTMX).content.decode()
    assert "req-3" in html and "req-2" not in html


def test_a_link_with_an_empty_dimension_keeps_the_blank_slice_and_the_form_ignores_it(
    lead: Persona, project: Project, interactions: list[Interaction]
) -> None:
    InteractionFactory(project=project, request_id="req-blank", model_version="", timestamp=T0)
    client = client_for(lead)

    link = client.get(f"{URL}?model_version=", **HTMX).content.decode()
    form = client.get(f"{URL}?form=1&model_version=&model=", **HTMX).content.decode()

    assert "req-blank" in link and "req-0<" not in link
    assert "req-blank" in form and "req-0<" in form


def test_an_empty_result_says_why(lead: Persona, interactions: Any) -> None:
    html = client_for(lead).get(URL, {"model": "nobody"}, **HTMX).content.decode()
    assert "No interaction of support-bot matches these filters" in html


def test_the_page_links_older_pages_by_cursor_never_by_offset(
    lead: Persona, project: Project
) -> None:
    InteractionFactory.create_batch(55, project=project, timestamp=T0)
    client = client_for(lead)

    first = client.get(URL, {"model": "gpt-x"}).content.decode()
    assert first.count('name="interaction"') == 50
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert "after=" in older and "offset" not in older and "model=gpt-x" in older
    second = client.get(f"{URL}{older.replace('&amp;', '&')}").content.decode()
    assert second.count('name="interaction"') == 5 and 'rel="next"' not in second


def test_a_row_shows_only_the_start_of_a_long_response(lead: Persona, project: Project) -> None:
    InteractionFactory(project=project, response="start " + "x" * 20_000 + " tail-marker")
    page = explorer_page(project=project, query=ExplorerQuery())

    assert len(page.rows[0].excerpt) == 200  # type: ignore[attr-defined]
    assert "response" in page.rows[0].get_deferred_fields()
    html = client_for(lead).get(URL).content.decode()
    assert "start xxx" in html and "tail-marker" not in html


def test_a_page_costs_a_bounded_number_of_queries(
    lead: Persona, project: Project, django_assert_max_num_queries: Any
) -> None:
    check = CheckFactory(project=project)
    for interaction in InteractionFactory.create_batch(60, project=project):
        FlagFactory(check_config=check, interaction=interaction)
        FeedbackFactory(interaction=interaction, normalized_score=0.0)
    client = client_for(lead)
    client.get(URL)  # session and the like warmed up

    with django_assert_max_num_queries(12):
        response = client.get(URL, {"negative": "1", "flagged": check.name, "q": "Security"})
    assert response.content.decode().count('name="interaction"') == 50


def test_a_get_changes_nothing(lead: Persona, interactions: Any, queue: Queue) -> None:
    client_for(lead).get(
        URL, {"target_queue": queue.pk, "interaction": interactions[0].pk, "all": 1}
    )
    assert not QueueItem.objects.exists()
    assert not AuditEvent.objects.filter(action="queue.items_added").exists()


# -- one interaction -------------------------------------------------------------------------------


def test_it_opens_one_interaction_with_flags_feedback_and_settled_review(
    lead: Persona, project: Project, queue: Queue
) -> None:
    interaction = InteractionFactory(
        project=project,
        response="Call me at <b>555-0100</b> tomorrow",
        messages=[{"role": "user", "content": "<script>alert(1)</script> help"}],
        retrieved_context=[{"id": "doc-7", "source": "kb", "text": "Reset via Settings"}],
    )
    check = CheckFactory(project=project, name="phone")
    FlagFactory(
        check_config=check,
        interaction=interaction,
        spans=[{"start": 11, "end": 26, "kind": "phone"}],
        rationale="a phone number",
    )
    FeedbackFactory(interaction=interaction, kind="comment", text="Leaked <i>my</i> number")
    item = QueueItemFactory(
        queue=queue, interaction=interaction, state="done", annotations_wanted=2, annotations_done=2
    )
    now = timezone.now()
    for _ in range(2):
        Annotation.objects.create(
            item=item,
            annotator=UserFactory(),
            values={"verdict": "bad"},
            created_at=now,
            updated_at=now,
        )

    response = client_for(lead).get(f"{URL}/{interaction.pk}")

    html = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert '<mark class="span-phone" title="phone">&lt;b&gt;555-0100&lt;/b&gt;</mark>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; help" in html and "<script>alert" not in html
    assert "Leaked &lt;i&gt;my&lt;/i&gt; number" in html
    assert "doc-7" in html and "Reset via Settings" in html
    assert "phone" in html and "a phone number" in html
    assert "Hand picked" in html and "<strong>Final</strong>" in html and "Verdict: Bad" in html


def test_an_htmx_request_gets_only_the_interaction(lead: Persona, interactions: Any) -> None:
    response = client_for(lead).get(f"{URL}/{interactions[0].pk}", **HTMX)
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<article id="interaction-detail"')


def test_an_interaction_of_another_project_is_a_404(
    lead: Persona, other_keyed_project: Any
) -> None:
    elsewhere = InteractionFactory(project=other_keyed_project.project)
    assert client_for(lead).get(f"{URL}/{elsewhere.pk}").status_code == 404


# -- sending to a queue ----------------------------------------------------------------------------


def test_a_lead_sends_ticked_rows_to_a_queue_as_manual_items(
    lead: Persona, interactions: list[Interaction], queue: Queue
) -> None:
    picked = [interactions[0].pk, interactions[2].pk]

    response = client_for(lead).post(
        f"{URL}/send",
        {"target_queue": queue.pk, "interaction": picked, "filters": "model=gpt-x"},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Added 2 to Hand picked." in response.content.decode()
    items = QueueItem.objects.filter(queue=queue).order_by("interaction_id")
    assert [i.interaction_id for i in items] == picked
    for item in items:
        assert item.reasons == ["manual"] and item.inclusion_probability == 1.0
        assert item.fill_id is None and item.stratum == "manual" and item.state == "open"
        assert item.annotations_wanted == queue.overlap
    event = AuditEvent.objects.get(action="queue.items_added")
    assert event.actor == lead.user and event.metadata["added"] == 2


def test_without_javascript_sending_redirects_back_with_a_message(
    lead: Persona, interactions: list[Interaction], queue: Queue
) -> None:
    client = client_for(lead)
    response = client.post(
        f"{URL}/send",
        {"target_queue": queue.pk, "interaction": [interactions[1].pk], "filters": "model=gpt-x"},
    )
    assert response.status_code == 302 and response["Location"] == f"{URL}?model=gpt-x"
    assert "Added 1 to Hand picked." in client.get(response["Location"]).content.decode()


def test_all_matching_sends_every_match_of_the_filters(
    lead: Persona, interactions: list[Interaction], queue: Queue
) -> None:
    response = client_for(lead).post(
        f"{URL}/send",
        {"target_queue": queue.pk, "all": "1", "filters": "model_version=1.5.0-rc1&after=junk"},
        **HTMX,
    )

    assert "Added 3 to Hand picked." in response.content.decode()
    assert set(QueueItem.objects.values_list("interaction_id", flat=True)) == {
        i.pk for i in interactions if i.model_version == "1.5.0-rc1"
    }


def test_sending_explains_a_missing_queue_or_a_bad_filter(
    lead: Persona, interactions: list[Interaction], queue: Queue, other_keyed_project: Any
) -> None:
    client = client_for(lead)
    foreign = QueueFactory(project=other_keyed_project.project)
    cases = [
        ({"interaction": [interactions[0].pk]}, "Choose the queue"),
        ({"target_queue": foreign.pk, "interaction": [interactions[0].pk]}, "has no queue"),
        ({"target_queue": queue.pk}, "Select at least one"),
        ({"target_queue": queue.pk, "interaction": ["x1"]}, "not an interaction id"),
        ({"target_queue": queue.pk, "all": "1", "filters": "rating_min=7"}, "between 0 and 1"),
    ]
    for data, words in cases:
        html = client.post(f"{URL}/send", data, **HTMX).content.decode()
        assert 'class="problem"' in html and words in html
    assert not QueueItem.objects.exists()


def test_the_service_skips_items_already_queued_and_refuses_other_projects(
    project: Project, interactions: list[Interaction], queue: Queue, other_keyed_project: Any
) -> None:
    QueueItemFactory(queue=queue, interaction=interactions[0], reasons=["low_rated"])
    foreign = InteractionFactory(project=other_keyed_project.project)

    outcome = queue_add_interactions(
        queue=queue,
        interaction_ids=[interactions[0].pk, interactions[1].pk, interactions[1].pk, foreign.pk],
    )

    assert (outcome.added, outcome.already, outcome.refused) == (1, 1, 1)
    assert QueueItem.objects.get(interaction=interactions[0]).reasons == ["low_rated"]
    assert not QueueItem.objects.filter(interaction=foreign).exists()
    again = queue_add_interactions(queue=queue, interaction_ids=[interactions[1].pk])
    assert (again.added, again.already, again.refused) == (0, 1, 0)


def test_the_service_refuses_archived_queues_and_oversized_selections(
    interactions: list[Interaction], queue: Queue
) -> None:
    with pytest.raises(ManualAddError, match="at most"):
        queue_add_interactions(queue=queue, interaction_ids=range(1, MAX_MANUAL_ITEMS + 2))
    Queue.objects.filter(pk=queue.pk).update(state="archived")
    with pytest.raises(ManualAddError, match="archived"):
        queue_add_interactions(queue=queue, interaction_ids=[interactions[0].pk])


def test_manual_items_stay_out_of_the_weighted_review_rollups(
    project: Project, queue: Queue
) -> None:
    hour = datetime(2026, 11, 20, 10, tzinfo=UTC)
    sampled, picked = InteractionFactory.create_batch(2, project=project, timestamp=hour)
    QueueItemFactory(queue=queue, interaction=sampled, inclusion_probability=0.5)
    queue_add_interactions(queue=queue, interaction_ids=[picked.pk])
    now = timezone.now()
    for item in QueueItem.objects.all():
        for _ in range(2):
            Annotation.objects.create(
                item=item,
                annotator=UserFactory(),
                values={"verdict": "bad"},
                created_at=now,
                updated_at=now,
            )
    QueueItem.objects.update(state="done", annotations_wanted=2, annotations_done=2)

    rollup_rebuild_hour(project=project, hour=hour)

    rollup = ReviewRollup.objects.get()
    assert (rollup.reviewed, rollup.bad, rollup.sum_w) == (1, 1, 2.0)


def test_word_search_uses_the_text_index_on_postgresql_and_substrings_on_sqlite(
    project: Project,
) -> None:
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(
            project=project,
            request_id=f"r{i}",
            timestamp=now,
            received_at=now,
            messages=[{"role": "user", "content": f"question {i}"}],
            response=f"answer w{i % 500}",
        )
        for i in range(5000)
    )
    query = explorer_query_parse({"q": ["W417 question"]}, project=project)
    found = explorer_interactions(project=project, query=query)

    assert found.count() == 10
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE annotation_interaction")
        assert "interaction_text_search" in found.explain()
    else:
        assert "LIKE" in str(found.query)


def test_an_older_page_seeks_in_the_time_index(project: Project) -> None:
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(
            project=project,
            request_id=f"r{i}",
            timestamp=now - timedelta(seconds=i),
            received_at=now,
        )
        for i in range(3000)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE annotation_interaction")
    deep = Interaction.objects.order_by("timestamp").values_list("timestamp", "pk")[100]
    cursor_value = cursor_encode(deep)
    query = explorer_query_parse({"after": [cursor_value]}, project=project)

    page = explorer_page(project=project, query=query)

    assert len(page.rows) == 50 and page.rows[0].timestamp < deep[0]
    plan = _newest_first(explorer_interactions(project=project, query=query), deep)[:51].explain()
    if connection.vendor == "postgresql":
        seek = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert '"timestamp" <=' in seek
    else:
        assert "timestamp<" in plan.replace(" ", "")
