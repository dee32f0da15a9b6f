"""Worst slices: statistics against statsmodels, noise control by simulation, the stored metadata
report, the API and the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from annotation.insights.slices import RankedSlice, SliceCount, rank_slices, top_metadata_values
from annotation.models import InsightReport, Project
from annotation.services.rollups import rollups_rebuild
from tests.conftest import Persona
from tests.factories import FeedbackFactory, InteractionFactory

# -- pure statistics -------------------------------------------------------------------------------


def _simulate(rng: np.random.Generator, worse: float | None) -> list[RankedSlice]:
    """4,000 rated interactions; 3 dimensions of 5 values and a metadata key with 8 values, each
    assigned at random; every slice has the same true rate 0.2 unless `worse` plants one."""
    n = 4_000
    labels = {
        "model_version": rng.integers(0, 5, n),
        "prompt_template": rng.integers(0, 5, n),
        "variant": rng.integers(0, 5, n),
        "plan": rng.integers(0, 8, n),
    }
    p = np.full(n, 0.2)
    if worse is not None:
        p[labels["plan"] == 3] = worse
    negative = rng.random(n) < p
    slices = []
    for key, values in labels.items():
        for value in np.unique(values):
            members = values == value
            slices.append(
                SliceCount(
                    "metadata" if key == "plan" else "dimension",
                    key,
                    str(value),
                    int(members.sum()),
                    int(negative[members].sum()),
                )
            )
    ranking = rank_slices(slices, total_rated=n, total_negative=int(negative.sum()))
    return ranking.rows


def test_it_does_not_rank_a_noise_slice_first_in_more_than_a_few_of_100_runs() -> None:
    false_first = 0
    for seed in range(100):
        rows = _simulate(np.random.default_rng(seed), worse=None)
        if rows[0].worse:
            false_first += 1
    # BH at q = 0.05 under the global null keeps the chance of any discovery at or below 5%
    # (and a discovery can be a better slice); 10 of 100 leaves room for sampling error.
    assert false_first <= 10


def test_it_finds_a_planted_worse_slice_first_in_at_least_90_of_100_runs() -> None:
    found = 0
    for seed in range(100):
        rows = _simulate(np.random.default_rng(1_000 + seed), worse=0.35)
        top = rows[0]
        if top.worse and (top.slice.key, top.slice.value) == ("plan", "3"):
            found += 1
    assert found >= 90


def test_its_figures_match_statsmodels() -> None:
    slices = [
        SliceCount("dimension", "model_version", "a", 120, 40),
        SliceCount("dimension", "model_version", "b", 300, 45),
        SliceCount("metadata", "plan", "free", 80, 20),
        SliceCount("metadata", "plan", "pro", 420, 65),
    ]
    ranking = rank_slices(slices, total_rated=500, total_negative=95)
    by_value = {row.slice.value: row for row in ranking.rows}
    p_values = []
    for item in slices:
        row = by_value[item.value]
        _, p = proportions_ztest(
            [item.negative, 95 - item.negative], [item.rated, 500 - item.rated]
        )
        assert row.p_value == pytest.approx(p, abs=1e-9)
        low, high = proportion_confint(item.negative, item.rated, method="wilson")
        assert row.ci95 == pytest.approx((low, high), abs=1e-9)
        low, high = proportion_confint(95 - item.negative, 500 - item.rated, method="wilson")
        assert row.rest_ci95 == pytest.approx((low, high), abs=1e-9)
        p_values.append(row.p_value)
    rejected, *_ = multipletests(p_values, alpha=0.05, method="fdr_bh")
    assert [by_value[item.value].significant for item in slices] == list(rejected)


def test_it_ranks_significant_worse_slices_before_larger_noisy_differences() -> None:
    slices = [
        SliceCount("metadata", "plan", "tiny", 12, 5),  # 42% of a dozen: larger, not significant
        SliceCount("dimension", "model_version", "bad", 400, 140),  # 35%: significant
    ]
    ranking = rank_slices(slices, total_rated=2_000, total_negative=400, min_support=10)

    assert [row.slice.value for row in ranking.rows] == ["bad", "tiny"]
    assert ranking.rows[0].worse and not ranking.rows[1].worse
    assert ranking.rows[1].difference > ranking.rows[0].difference


def test_it_leaves_out_slices_below_the_minimum_support() -> None:
    slices = [SliceCount("metadata", "plan", "free", 29, 20)]
    ranking = rank_slices(slices, total_rated=1_000, total_negative=100)

    assert ranking.rows == [] and ranking.too_little_support == 1 and ranking.tested == 0


def test_it_keeps_the_most_frequent_metadata_keys_and_values() -> None:
    counts = {("k0", "a"): (5, 5, 1), ("k0", "b"): (50, 50, 1), ("k1", "x"): (100, 100, 2)}
    chosen = top_metadata_values(counts, max_keys=1, max_values=1)

    assert chosen == [("k1", "x", 100, 2)]
    assert top_metadata_values(counts, max_keys=2, max_values=1) == [
        ("k1", "x", 100, 2),
        ("k0", "b", 50, 1),
    ]


# -- stored metadata report, API, page -----------------------------------------------------------

START = datetime(2026, 11, 20, tzinfo=UTC)
WINDOW = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z"}


@pytest.fixture
def traffic(project: Project) -> Project:
    """400 rated interactions: plan=free 40% negative (100), plan=pro 10% (300)."""
    for i in range(400):
        free = i < 100
        interaction = InteractionFactory(
            project=project,
            request_id=f"s-{i}",
            timestamp=START + timedelta(minutes=i),
            model_version="1.4.0",
            metadata={"plan": "free" if free else "pro", "tags": ["x"], "seats": i % 2},
        )
        negative = (i % 10 < 4) if free else (i % 10 == 0)
        FeedbackFactory(interaction=interaction, normalized_score=0.0 if negative else 1.0)
    rollups_rebuild(project=project, since=START, until=START + timedelta(days=1))
    return project


def _api(persona: Persona, method: str = "get", **params: Any) -> Any:
    client = persona.client()
    query = {"project": "support-bot", **params}
    if method == "post":
        from urllib.parse import urlencode

        return client.post(f"/api/v1/insights/slices?{urlencode(query)}")
    return client.get("/api/v1/insights/slices", query)


def test_it_ranks_a_worse_metadata_value_first_once_the_report_is_computed(
    traffic: Project, engineer: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    before = _api(engineer, **WINDOW).json()
    assert before["metadata"]["state"] == "missing" and before["metadata_note"]
    assert all(row["source"] == "dimension" for row in before["slices"])

    with django_capture_on_commit_callbacks(execute=True):
        requested = _api(engineer, "post", **WINDOW)
    assert requested.status_code == 202 and requested.json()["state"] == "pending"
    assert InsightReport.objects.get().state == InsightReport.State.DONE
    body = _api(engineer, **WINDOW).json()

    top = body["slices"][0]
    assert (top["source"], top["key"], top["value"]) == ("metadata", "plan", "free")
    assert top["worse"] and top["negative"] == 40 and top["rated"] == 100
    assert top["rest"] == {
        "rated": 300,
        "negative": 30,
        "rate": 0.1,
        "ci95": pytest.approx(list(proportion_confint(30, 300, method="wilson"))),
    }
    assert "metadata=plan%3Dfree" in top["interactions"] and "negative=1" in top["interactions"]
    assert top["interactions"].startswith("/insights/support-bot/interactions?since=")
    # Lists are not slices; numbers are, as text.
    assert {(r["key"], r["value"]) for r in body["slices"]} >= {("seats", "0"), ("seats", "1")}
    assert not any(r["key"] == "tags" for r in body["slices"])


def test_it_uses_the_stored_window_when_none_is_asked(
    traffic: Project, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _api(lead, "post", **WINDOW)
    body = _api(lead).json()

    assert body["since"] == WINDOW["since"] and body["metadata"]["state"] == "done"


def test_it_explains_too_little_support_instead_of_ranking(
    traffic: Project, engineer: Persona
) -> None:
    body = _api(engineer, min_support=1_000, **WINDOW).json()

    assert body["slices"] == [] and body["empty"].startswith("Too little support")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_support": "5"}, "min_support"),
        ({"min_support": "many"}, "min_support"),
        ({"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"}, "since"),
        ({"until": "yesterday"}, "until"),
    ],
)
def test_it_names_the_bad_parameter(
    project: Project, engineer: Persona, params: dict[str, str], field: str
) -> None:
    response = _api(engineer, **params)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field


def test_it_refuses_annotators_and_outsiders(
    project: Project, annotator: Persona, outsider: Persona
) -> None:
    assert _api(annotator).status_code == 403
    assert _api(outsider).status_code == 404
    assert _api(annotator, "post").status_code == 403
    assert not InsightReport.objects.exists()


def test_the_page_shows_the_ranking_with_links(
    traffic: Project, client: Any, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(lead.user)
    with django_capture_on_commit_callbacks(execute=True):
        _api(lead, "post", **WINDOW)
    response = client.get("/insights/support-bot/slices", WINDOW)

    assert response.status_code == 200
    assert response["Vary"] and "HX-Request" in response["Vary"]
    html = response.content.decode()
    assert "<html" in html and "metadata=plan%3Dfree" in html and "worse" in html


def test_the_page_answers_htmx_with_its_partial(
    traffic: Project, client: Any, lead: Persona
) -> None:
    client.force_login(lead.user)
    response = client.get("/insights/support-bot/slices", WINDOW, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="insight-report"' in html and "HX-Request" in response["Vary"]


def test_the_page_explains_a_bad_parameter(project: Project, client: Any, lead: Persona) -> None:
    client.force_login(lead.user)
    response = client.get("/insights/support-bot/slices", {"min_support": "3"})

    assert response.status_code == 400 and "min_support" in response.content.decode()


def test_the_page_is_for_leads_and_engineers_and_get_only(
    project: Project, client: Any, annotator: Persona, outsider: Persona, engineer: Persona
) -> None:
    client.force_login(annotator.user)
    assert client.get("/insights/support-bot/slices").status_code == 403
    client.force_login(outsider.user)
    assert client.get("/insights/support-bot/slices").status_code == 404
    client.force_login(engineer.user)
    assert client.post("/insights/support-bot/slices").status_code == 405
    assert client.get("/insights/support-bot/slices").status_code == 200


def test_requesting_from_the_page_stores_a_report_and_returns_to_its_window(
    traffic: Project, client: Any, engineer: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(engineer.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/insights/support-bot/reports/slices", WINDOW)

    assert response.status_code == 302
    assert response["Location"].startswith("/insights/support-bot/slices?since=2026-11-20")
    assert InsightReport.objects.get().state == InsightReport.State.DONE
    assert client.get("/insights/support-bot/reports/slices").status_code == 405


def test_a_stored_report_ranks_its_window_from_one_snapshot(
    traffic: Project, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    for i in range(60):  # a second model version, after the report was computed
        interaction = InteractionFactory(
            project=traffic,
            request_id=f"late-{i}",
            timestamp=START + timedelta(hours=20, minutes=i),
            model_version="1.5.0",
        )
        FeedbackFactory(interaction=interaction, normalized_score=0.0)
    live = _api(lead, **WINDOW).json()
    with django_capture_on_commit_callbacks(execute=True):
        _api(lead, "post", **WINDOW)
    fresh = _api(lead, **WINDOW).json()

    # Before the report: the rollups (not rebuilt yet); after: the report's own scan.
    assert live["computed_at"] is None and live["rated"] == 400
    assert fresh["computed_at"] is not None and fresh["rated"] == 460
    top = fresh["slices"][0]
    assert (top["key"], top["value"], top["rated"], top["negative"]) == (
        "model_version",
        "1.5.0",
        60,
        60,
    )
