"""The insights overview and compare pages: access, figures from the metric selectors, links to
the interactions behind every point and row, explained empty states, htmx partials, bounded
queries, and the landing page of leads and engineers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from annotation.insights.query import Range, SliceFilter
from annotation.insights.stats import mean_interval
from annotation.models import Check, Project, ReviewRollup
from annotation.selectors.dashboard import MAX_CHECK_CHARTS
from annotation.selectors.metrics import metrics_compare, metrics_timeseries
from annotation.services.rollups import rollups_rebuild
from tests.conftest import Persona
from tests.factories import (
    CheckFactory,
    FeedbackFactory,
    FlagFactory,
    InteractionFactory,
    QueueFactory,
)

URL = "/insights/support-bot/"
COMPARE = "/insights/support-bot/compare"
HTMX = {"HTTP_HX_REQUEST": "true"}
START = datetime(2026, 11, 20, 8, tzinfo=UTC)
WINDOW = {"range": "custom", "since": "2026-11-20T08:00:00Z", "until": "2026-11-20T11:00:00Z"}
# (model_version, hour offset, rated, of which thumbs down)
TRAFFIC = [
    ("1.4.0", 0, 20, 3),
    ("1.4.0", 1, 20, 3),
    ("1.5.0-rc1", 1, 30, 9),
    ("1.5.0-rc1", 2, 10, 4),
]


def client_for(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def traffic(project: Project) -> Project:
    pii = Check.objects.get(project=project, name="pii")
    n = 0
    for version, hour, rated, down in TRAFFIC:
        for i in range(rated):
            interaction = InteractionFactory(
                project=project,
                request_id=f"r-{n}",
                model_version=version,
                timestamp=START + timedelta(hours=hour, minutes=i),
                checked_at=START,
            )
            FeedbackFactory(
                interaction=interaction,
                normalized_score=0.0 if i < down else 1.0,
                value=0.0 if i < down else 1.0,
            )
            if version == "1.5.0-rc1" and i % 5 == 0:
                FlagFactory(check_config=pii, interaction=interaction)
            n += 1
    rollups_rebuild(project=project, since=START, until=START + timedelta(hours=3))
    queue = QueueFactory(project=project, name="Weekly")
    for version, reviewed, bad in (("1.4.0", 40, 6), ("1.5.0-rc1", 12, 5)):
        ReviewRollup.objects.create(
            project=project,
            queue=queue,
            hour=START + timedelta(hours=1),
            model_version=version,
            reviewed=reviewed,
            bad=bad,
            sum_w=reviewed * 2.0,
            sum_wy=bad * 2.0,
            sum_a=reviewed * 2.0,
            sum_ay=bad * 2.0,
        )
    return project


def html(response: Any) -> str:
    return str(response.content.decode())


def drill_links(page: str) -> list[dict[str, list[str]]]:
    links = []
    for part in page.split('class="drill" href="')[1:]:
        href = part.split('"', 1)[0].replace("&amp;", "&")
        assert urlsplit(href).path == "/insights/support-bot/interactions"
        links.append(parse_qs(urlsplit(href).query))
    return links


# -- access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["lead", "engineer"])
@pytest.mark.parametrize("url", [URL, COMPARE])
def test_it_shows_leads_and_engineers_the_dashboards(
    persona: str, url: str, request: pytest.FixtureRequest, traffic: Project
) -> None:
    response = client_for(request.getfixturevalue(persona)).get(url)

    assert response.status_code == 200
    assert "<html" in html(response)
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("url", [URL, COMPARE])
def test_it_refuses_annotators_hides_from_outsiders_and_sends_anonymous_to_log_in(
    url: str, annotator: Persona, outsider: Persona, traffic: Project
) -> None:
    assert client_for(annotator).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert client_for(outsider).get("/insights/no-such-project/").status_code == 404


@pytest.mark.parametrize("url", [URL, COMPARE])
def test_it_answers_only_get(url: str, lead: Persona, traffic: Project) -> None:
    assert client_for(lead).post(url).status_code == 405


# -- the overview ----------------------------------------------------------------------------------


def test_every_chart_shows_the_same_figures_as_the_metrics_selector(
    lead: Persona, traffic: Project
) -> None:
    page = html(client_for(lead).get(URL, WINDOW))

    window = Range(since=START, until=START + timedelta(hours=3))
    series = metrics_timeseries(
        project=traffic,
        metric="negative_feedback_rate",
        window=window,
        bucket="hour",
        filters=SliceFilter(),
    )["series"][0]["points"]
    assert [p["count"] for p in series] == [20, 50, 10]
    low, high = proportion_confint(12, 50, method="wilson")
    assert f"24.0% (95% CI {low:.1%} to {high:.1%}), n = 50" in page
    for title in (
        "Volume",
        "Negative-feedback rate",
        "Mean normalised rating",
        "Implicit-negative rate",
        "Flag rate: pii",
        "Reviewed bad rate (weighted)",
    ):
        assert f">{title}</h2>" in page
    assert "50 interactions" in page
    assert '<div id="dashboard-data" hidden data-figures="{&quot;charts&quot;: [' in page
    assert " style=" not in page and "<style" not in page


def test_every_table_row_links_to_the_interactions_of_its_bucket_and_slice(
    lead: Persona, traffic: Project
) -> None:
    page = html(client_for(lead).get(URL, {**WINDOW, "by": "model_version"}))

    links = drill_links(page)
    negative = [q for q in links if q.get("negative") == ["1"]]
    assert {(q["since"][0], q["until"][0], q["model_version"][0]) for q in negative} == {
        ("2026-11-20T08:00:00Z", "2026-11-20T09:00:00Z", "1.4.0"),
        ("2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", "1.4.0"),
        ("2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", "1.5.0-rc1"),
        ("2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z", "1.5.0-rc1"),
    }
    flagged = [q for q in links if q.get("flagged") == ["pii"]]
    assert flagged and all("negative" not in q for q in flagged)
    reviewed = [q for q in links if q.get("reviewed_bad") == ["1"]]
    assert {q["model_version"][0] for q in reviewed} >= {"1.4.0", "1.5.0-rc1"}


def test_the_explorer_links_match_what_the_explorer_shows(lead: Persona, traffic: Project) -> None:
    client = client_for(lead)
    page = html(client.get(URL, {**WINDOW, "by": "model_version"}))
    href = next(
        part.split('"', 1)[0].replace("&amp;", "&")
        for part in page.split('class="drill" href="')[1:]
        if "negative=1" in part.split('"', 1)[0]
        and "1.5.0-rc1" in part.split('"', 1)[0]
        and "T10%3A00" in part.split('"', 1)[0].split("until")[0]
    )

    explorer = html(client.get(href))

    assert explorer.count('data-request-id="r-') == 4  # the 4 thumbs down of 1.5.0-rc1 at 10:00


def test_a_day_bucket_is_clipped_to_the_range(lead: Persona, traffic: Project) -> None:
    page = html(client_for(lead).get(URL, {**WINDOW, "bucket": "day"}))

    volume = [q for q in drill_links(page) if set(q) == {"since", "until"}]
    assert volume[0]["since"] == ["2026-11-20T08:00:00Z"]
    assert volume[0]["until"] == ["2026-11-20T11:00:00Z"]
    assert "80 interactions" in page


def test_filters_offer_the_projects_values_and_narrow_every_figure(
    lead: Persona, traffic: Project
) -> None:
    page = html(client_for(lead).get(URL, {**WINDOW, "model_version": "1.4.0"}))

    assert '<option value="1.5.0-rc1"' in page and '<option value="1.4.0" selected' in page
    assert "40 interactions" not in page  # per hour: 20 and 20
    assert page.count(">20 interactions<") == 2
    assert all(q["model_version"] == ["1.4.0"] for q in drill_links(page))


def test_reviewed_quality_shows_naive_beside_weighted_with_n_and_says_when_too_few(
    lead: Persona, traffic: Project
) -> None:
    page = html(client_for(lead).get(URL, WINDOW))

    table = page.split('id="quality"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr")[2:]
    assert "1.4.0" in rows[0] and "<td>40</td>" in rows[0] and "0.150" in rows[0]
    assert "Too few" not in rows[0]
    assert "1.5.0-rc1" in rows[1] and "<td>12</td>" in rows[1]
    assert "Too few reviews (12 &lt; 30)" in rows[1]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"range": "1y"}, "range", "Unknown range"),
        (
            {"range": "custom", "since": "2026-11-21T00:00Z", "until": "2026-11-20T00:00Z"},
            "since",
            "inverted",
        ),
        ({"range": "custom", "since": "yesterday"}, "since", "not a date"),
        ({**WINDOW, "by": "colour"}, "by", "Unknown dimension"),
        ({**WINDOW, "bucket": "week"}, "bucket", "Unknown bucket"),
        ({**WINDOW, "model_version": "9.9.9"}, "model_version", "No interaction in this range"),
        (
            {"range": "custom", "since": "2000-01-01T00:00Z", "until": "2026-01-01T00:00Z"},
            "bucket",
            "points",
        ),
    ],
)
def test_bad_parameters_are_explained_never_a_500(
    lead: Persona, traffic: Project, params: dict[str, str], field: str, words: str
) -> None:
    client = client_for(lead)
    response = client.get(URL, params)
    partial = client.get(URL, params, **HTMX)

    assert response.status_code == 400 and partial.status_code == 200
    for page in (html(response), html(partial)):
        problem = page.split('id="dashboard-problem"', 1)[1].split("</p>", 1)[0]
        assert f"<strong>{field}</strong>" in problem and words in problem


def test_an_empty_range_says_why_it_is_empty(lead: Persona, traffic: Project) -> None:
    response = client_for(lead).get(
        URL, {"range": "custom", "since": "2026-10-01T00:00Z", "until": "2026-10-02T00:00Z"}
    )

    assert response.status_code == 200
    assert 'id="dashboard-empty"' in html(response) and "Widen the range" in html(response)
    assert 'id="quality-empty"' in html(response)


def test_an_htmx_request_gets_only_the_dashboard(lead: Persona, traffic: Project) -> None:
    response = client_for(lead).get(URL, WINDOW, **HTMX)

    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<div id="dashboard">') and "<html" not in page
    assert "HX-Request" in response["Vary"]


def test_the_overview_reads_a_bounded_number_of_queries(
    lead: Persona, traffic: Project, django_assert_max_num_queries: Any
) -> None:
    for i in range(MAX_CHECK_CHARTS + 3):  # charts of the first 8 checks only
        CheckFactory(project=traffic, name=f"check-{i:02}")
    client = client_for(lead)
    # Session, user, membership, the user's other projects, slice values, checks; 5 metrics,
    # 2 per flag chart, reviewed quality; the header's 3 links.
    with django_assert_max_num_queries(6 + 5 + 2 * MAX_CHECK_CHARTS + 1 + 3):
        response = client.get(URL, {**WINDOW, "by": "model_version"})

    assert response.status_code == 200
    assert html(response).count('<h2 id="h-flag_rate-') == MAX_CHECK_CHARTS


# -- compare ---------------------------------------------------------------------------------------


def test_compare_shows_every_metric_of_a_and_b_from_metrics_compare(
    engineer: Persona, traffic: Project
) -> None:
    params = {**WINDOW, "dimension": "model_version", "a": "1.4.0", "b": "1.5.0-rc1"}
    page = html(client_for(engineer).get(COMPARE, params))

    result = metrics_compare(
        project=traffic,
        dimension="model_version",
        a="1.4.0",
        b="1.5.0-rc1",
        window=Range(since=START, until=START + timedelta(hours=3)),
        filters=SliceFilter(),
    )
    negative = next(m for m in result["metrics"] if m["metric"] == "negative_feedback_rate")
    row = page.split('data-metric="negative_feedback_rate"', 1)[1].split("</tr>", 1)[0]
    low, high = negative["ci95"]
    assert (
        f"{negative['difference'] * 100:+.1f} pp (95% CI {low * 100:+.1f} to {high * 100:+.1f} pp)"
        in row
    )
    assert f"{negative['p_value']:.3g}" in row and negative["test"] in row
    assert f"<td>{negative['required_n']}</td>" in row
    assert "15.0%" in row and "32.5%" in row
    assert 'data-metric="flag_rate"' in page and 'data-metric="mean_rating"' in page
    quality = page.split('id="compare-quality"', 1)[1].split("</table>", 1)[0]
    assert "<td>40</td>" in quality and "<td>12</td>" in quality
    assert "Only 12 settled reviews: too few for a reliable estimate." in quality
    sides = [q for q in drill_links(page) if "negative" in q]
    assert [q["model_version"] for q in sides] == [["1.4.0"], ["1.5.0-rc1"]]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "Choose two values of model version"),
        ({"a": "1.4.0"}, "Choose two values"),
        ({"a": "1.4.0", "b": "1.4.0"}, "compared with itself"),
    ],
)
def test_compare_explains_what_is_missing(
    lead: Persona, traffic: Project, params: dict[str, str], words: str
) -> None:
    response = client_for(lead).get(COMPARE, {**WINDOW, **params})

    assert response.status_code == 200
    assert words in html(response).split('id="compare-empty"', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"dimension": "colour"}, "dimension"), ({"a": "1.4.0", "b": "2.0"}, "b")],
)
def test_compare_refuses_unknown_dimensions_and_values(
    lead: Persona, traffic: Project, params: dict[str, str], field: str
) -> None:
    response = client_for(lead).get(COMPARE, {**WINDOW, **params})

    assert response.status_code == 400
    assert f"<strong>{field}</strong>" in html(response)


def test_compare_as_htmx_swaps_only_the_comparison_in_bounded_queries(
    lead: Persona, traffic: Project, django_assert_max_num_queries: Any
) -> None:
    client = client_for(lead)
    params = {**WINDOW, "a": "1.4.0", "b": "1.5.0-rc1"}
    with django_assert_max_num_queries(16):
        response = client.get(COMPARE, params, **HTMX)

    assert html(response).lstrip().startswith('<div id="comparison">')
    assert "HX-Request" in response["Vary"]


# -- landing page and navigation -------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "landing"), [("lead", URL), ("engineer", "/exports/")])
def test_leads_land_on_the_overview_and_engineers_on_the_exports(
    persona: str, landing: str, request: pytest.FixtureRequest, traffic: Project
) -> None:
    response = client_for(request.getfixturevalue(persona)).get("/")

    assert response.status_code == 302 and response["Location"] == landing


def test_the_header_links_insights_for_leads_and_engineers_only(
    lead: Persona, annotator: Persona, traffic: Project
) -> None:
    assert f'<a href="{URL}">Insights</a>' in html(client_for(lead).get(COMPARE))
    assert ">Insights</a>" not in html(client_for(annotator).get("/"))


def test_the_insights_nav_lists_only_pages_that_exist(lead: Persona, traffic: Project) -> None:
    nav = html(client_for(lead).get(URL)).split('class="insights-nav"', 1)[1].split("</nav>", 1)[0]

    assert ">Overview</a>" in nav and ">Compare</a>" in nav and ">Interactions</a>" in nav
    assert 'aria-current="page">Overview' in nav


# -- the mean rating's interval --------------------------------------------------------------------


def test_the_mean_rating_interval_matches_statsmodels() -> None:
    values = [0.0, 0.25, 1.0, 1.0, 0.5, 0.75, 1.0, 0.0, 0.25]
    expected = DescrStatsW(values).zconfint_mean()

    low, high = mean_interval(len(values), sum(values), sum(v * v for v in values))  # type: ignore[misc]

    assert low == pytest.approx(expected[0], abs=1e-9)
    assert high == pytest.approx(expected[1], abs=1e-9)
    assert mean_interval(1, 0.5, 0.25) is None


def test_the_mean_rating_interval_stays_between_0_and_1(lead: Persona, project: Project) -> None:
    for i, score in enumerate([1.0, 1.0, 1.0, 0.5]):
        FeedbackFactory(
            interaction=InteractionFactory(
                project=project, request_id=f"m-{i}", timestamp=START + timedelta(minutes=i)
            ),
            normalized_score=score,
            value=score,
        )
    rollups_rebuild(project=project, since=START, until=START + timedelta(hours=1))

    point = metrics_timeseries(
        project=project,
        metric="mean_rating",
        window=Range(since=START, until=START + timedelta(hours=1)),
        bucket="hour",
        filters=SliceFilter(),
    )["series"][0]["points"][0]

    unclipped = DescrStatsW([1.0, 1.0, 1.0, 0.5]).zconfint_mean()
    assert unclipped[1] > 1
    assert point["ci95"] == pytest.approx([unclipped[0], 1.0], abs=1e-9)


def test_the_nav_tag_leaves_out_pages_not_installed() -> None:
    from django.template import Context, Template

    template = Template(
        '{% load insights_nav %}{% url_if_exists "insights-nowhere" "support-bot" as a %}'
        '{% url_if_exists "insights-compare" "support-bot" as b %}[{{ a }}][{{ b }}]'
    )

    assert template.render(Context()) == "[][/insights/support-bot/compare]"


def test_the_report_pages_link_back_to_the_dashboards(lead: Persona, traffic: Project) -> None:
    from django.template.loader import render_to_string

    nav = render_to_string("annotation/insights/_nav.html", {"project": traffic})

    assert f'<a href="{URL}">Overview</a>' in nav and f'<a href="{COMPARE}">Compare</a>' in nav


def test_ranges_widen_to_whole_hours_as_the_rollups_count_them() -> None:
    from django.http import QueryDict

    from annotation.views.insights import parse_window

    now = datetime(2026, 11, 20, 10, 20, tzinfo=UTC)
    custom = QueryDict("since=2026-11-20T08:30:00Z&until=2026-11-20T10:15:00Z")

    assert parse_window(custom, now) == (
        "custom",
        Range(since=START, until=datetime(2026, 11, 20, 11, tzinfo=UTC)),
    )
    assert parse_window(QueryDict("range=24h"), now) == (
        "24h",
        Range(
            since=datetime(2026, 11, 19, 11, tzinfo=UTC),
            until=datetime(2026, 11, 20, 11, tzinfo=UTC),
        ),
    )
    assert parse_window(QueryDict(""), now)[0] == "7d"


def test_a_lead_of_several_projects_reaches_each_overview(
    lead: Persona, traffic: Project, other_keyed_project: Any
) -> None:
    from annotation.models import Membership, Role

    other = other_keyed_project.project
    Membership.objects.create(user=lead.user, project=other, role=Role.ENGINEER)

    page = html(client_for(lead).get(URL, WINDOW))

    assert f'Other projects: <a href="/insights/{other.name}/">{other.name}</a>' in page
    assert client_for(lead).get(f"/insights/{other.name}/").status_code == 200
