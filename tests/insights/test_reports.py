"""Prompt-template, retrieval and retraining-signal reports: the trend test against statsmodels,
the rising flag by seeded simulation, the figures from seeded data, their API and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from django.contrib.auth.models import User
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.proportion import proportion_confint

from annotation.insights.reports import cochran_armitage, reason_signal
from annotation.models import Annotation, InsightReport, Project
from annotation.models.review import ItemState
from annotation.services.insight_reports import insight_reports_refresh
from annotation.services.rollups import rollups_rebuild
from tests.conftest import Persona
from tests.factories import (
    FeedbackFactory,
    FlagFactory,
    InteractionFactory,
    QueueFactory,
    QueueItemFactory,
)

# -- the trend test and the rising flag ------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "totals"),
    [([10, 15, 30], [100, 110, 120]), ([40, 30, 31, 12], [200, 210, 190, 205]), ([3, 3], [50, 70])],
)
def test_cochran_armitage_matches_statsmodels(successes: list[int], totals: list[int]) -> None:
    table = np.array([[x, n - x] for x, n in zip(successes, totals, strict=True)])
    linear = Table(table).test_ordinal_association()
    n = sum(totals)

    trend = cochran_armitage(successes, totals)

    # statsmodels' linear-by-linear z uses N - 1 where Cochran-Armitage uses N; its sign follows
    # the column order (failures last).
    assert trend is not None
    assert trend.statistic == pytest.approx(-linear.zscore * np.sqrt(n / (n - 1)), abs=1e-9)


def test_cochran_armitage_is_undefined_without_variation() -> None:
    assert cochran_armitage([0, 0, 0], [10, 10, 10]) is None
    assert cochran_armitage([5], [10]) is None


def _flagged(rng: np.random.Generator, rates: list[float], n: int = 400) -> bool:
    counts = [int(rng.binomial(n, p)) for p in rates]
    versions = [f"v{i}" for i in range(len(rates))]
    return bool(reason_signal(versions, counts, [n] * len(rates))["rising"])


def test_a_steady_reason_is_rarely_flagged_as_rising() -> None:
    flagged = sum(_flagged(np.random.default_rng(s), [0.1, 0.1, 0.1, 0.1]) for s in range(200))
    # The trend test alone errs 5% of the time; also needing the last two steps up makes it rarer.
    assert flagged <= 10


def test_a_reason_rising_with_each_version_is_flagged() -> None:
    rates = [0.05, 0.08, 0.12, 0.17]
    flagged = sum(_flagged(np.random.default_rng(100 + s), rates) for s in range(200))
    assert flagged >= 180


def test_a_reason_that_rose_then_fell_is_not_rising() -> None:
    signal = reason_signal(["a", "b", "c", "d"], [10, 40, 80, 70], [200, 200, 200, 200])

    assert signal["trend"]["p_value"] < 0.05 and not signal["rising"]
    assert signal["increased_last"] == 0


# -- seeded project data ---------------------------------------------------------------------------

START = datetime(2026, 11, 20, tzinfo=UTC)
WINDOW = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-23T00:00:00Z"}
RAG_SCHEMA = {
    "fields": [
        {"name": "verdict", "type": "choice", "options": ["good", "bad"], "agreement": True},
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "relevance", "type": "relevance"},
    ]
}


VERSIONS = (("1.0", 5), ("1.1", 15), ("1.2", 30))


def _wiki(i: int) -> bool:
    return i % 2 == 0


def _down(i: int) -> bool:
    """Rated down: 40% of wiki answers, 20% of kb ones."""
    return (i % 10 < 4) if _wiki(i) else (i % 10 == 1)


def _negative(i: int, incorrect: int) -> bool:
    # The rollups' definition: rated down, or labelled with a negative reason.
    return _down(i) or i < incorrect


@pytest.fixture
def data(project: Project) -> Project:
    """Three model versions a day apart, each with 100 rated interactions; `incorrect` labels
    rising (5, 15, 30), answers from the `wiki` source rated down more than `kb`, reviews that
    judge document `doc-7` irrelevant; template `support_answer` v1 and v2."""
    pii = project.checks.get(name="pii")
    queue = QueueFactory(project=project, schema=RAG_SCHEMA)
    reviewer = User.objects.create(username="reviewer")
    n = 0
    for day, (version, incorrect) in enumerate(VERSIONS):
        for i in range(100):
            wiki = _wiki(i)
            interaction = InteractionFactory(
                project=project,
                request_id=f"r-{n}",
                model_version=version,
                prompt_template_version="v2" if version == "1.2" else "v1",
                timestamp=START + timedelta(days=day, minutes=i),
                checked_at=START,
                retrieved_context=[
                    {
                        "id": "doc-7" if wiki else "doc-1",
                        "text": "…",
                        "source": "wiki" if wiki else "kb",
                    }
                ],
            )
            n += 1
            down = _down(i)
            FeedbackFactory(interaction=interaction, normalized_score=0.0 if down else 1.0)
            if i < incorrect:
                FeedbackFactory(
                    interaction=interaction,
                    kind="label",
                    labels=["incorrect"],
                    normalized_score=None,
                    value=None,
                    scale="",
                )
            if i % 20 == 0:
                FlagFactory(check_config=pii, interaction=interaction)
            if i < 10:
                item = QueueItemFactory(
                    queue=queue,
                    interaction=interaction,
                    state=ItemState.DONE,
                    inclusion_probability=0.5,
                )
                Annotation.objects.create(
                    item=item,
                    annotator=reviewer,
                    values={
                        "verdict": "bad" if wiki else "good",
                        "reasons": ["off_topic"] if wiki else [],
                        "relevance": {"doc-7": "irrelevant"} if wiki else {"doc-1": "relevant"},
                    },
                    created_at=interaction.timestamp,
                    updated_at=interaction.timestamp,
                )
    rollups_rebuild(project=project, since=START, until=START + timedelta(days=3))
    return project


def _get(persona: Persona, report: str, **params: str) -> Any:
    return persona.client().get(f"/api/v1/insights/{report}", {"project": "support-bot", **params})


def _post(persona: Persona, report: str, **params: str) -> Any:
    query = urlencode({"project": "support-bot", **params})
    return persona.client().post(f"/api/v1/insights/{report}?{query}")


def test_the_template_report_has_rates_with_intervals_and_review_estimates(
    data: Project, engineer: Persona
) -> None:
    body = _get(engineer, "templates", **WINDOW).json()

    rows = {row["prompt_template_version"]: row for row in body["templates"]}
    v1, v2 = rows["v1"], rows["v2"]
    assert v1["volume"] == 200 and v2["volume"] == 100
    negative = sum(_negative(i, incorrect) for _, incorrect in VERSIONS[:2] for i in range(100))
    assert v1["negative_rate"]["k"] == negative and v1["negative_rate"]["count"] == 200
    assert v1["negative_rate"]["ci95"] == pytest.approx(
        list(proportion_confint(negative, 200, method="wilson")), abs=1e-9
    )
    assert v1["mean_rating"] == {"value": pytest.approx(0.7), "count": 200}
    assert v1["flag_rates"] == [
        {
            "check": "pii",
            "value": 0.05,
            "k": 10,
            "count": 200,
            "ci95": pytest.approx(list(proportion_confint(10, 200, method="wilson")), abs=1e-9),
        }
    ]
    review = v2["reviewed_bad_rate"]
    assert review["n"] == 10 and review["naive"] == 0.5 and review["weighted"] == 0.5
    assert "prompt_template_version=v2" in v2["interactions"]


def test_the_template_report_explains_an_empty_window(project: Project, lead: Persona) -> None:
    body = _get(lead, "templates", **WINDOW).json()
    assert body["templates"] == [] and body["empty"] == "No interactions in this window."


def test_the_retrieval_report_finds_the_irrelevant_document_and_the_worse_source(
    data: Project, engineer: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(engineer, "retrieval", **WINDOW).status_code == 202
    body = _get(engineer, "retrieval").json()

    assert body["reviewed_items"] == 30
    assert body["documents"] == [
        {
            "id": "doc-7",
            "source": "wiki",
            "irrelevant": {
                "value": 1.0,
                "k": 15,
                "count": 15,
                "ci95": pytest.approx(list(proportion_confint(15, 15, method="wilson")), abs=1e-9),
            },
            "interactions": body["documents"][0]["interactions"],
        }
    ]
    assert "retrieved_document=doc-7" in body["documents"][0]["interactions"]
    sources = {row["source"]: row["negative_rate"] for row in body["sources"]}
    assert [row["source"] for row in body["sources"]] == ["wiki", "kb"]
    wiki = sum(_negative(i, c) for _, c in VERSIONS for i in range(100) if _wiki(i))
    kb = sum(_negative(i, c) for _, c in VERSIONS for i in range(100) if not _wiki(i))
    assert (sources["wiki"]["k"], sources["wiki"]["count"]) == (wiki, 150)
    assert (sources["kb"]["k"], sources["kb"]["count"]) == (kb, 150)
    assert sources["wiki"]["ci95"] == pytest.approx(
        list(proportion_confint(wiki, 150, method="wilson")), abs=1e-9
    )


def test_the_signal_flags_a_reason_rising_across_versions(
    data: Project, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(lead, "signals", **WINDOW)
    body = _get(lead, "signals").json()

    assert body["versions"] == ["1.0", "1.1", "1.2"]
    first = body["reasons"][0]
    assert (first["reason"], first["source"], first["rising"]) == ("incorrect", "user", True)
    assert [(v["version"], v["k"], v["count"]) for v in first["versions"]] == [
        ("1.0", 5, 100),
        ("1.1", 15, 100),
        ("1.2", 30, 100),
    ]
    assert first["trend"]["z"] == pytest.approx(cochran_armitage([5, 15, 30], [100] * 3).statistic)
    steady = next(r for r in body["reasons"] if r["source"] == "reviewer")
    assert steady["reason"] == "off_topic" and not steady["rising"]
    assert [v["k"] for v in steady["versions"]] == [5, 5, 5]
    link = first["versions"][2]["interactions"]
    assert "model_version=1.2" in link and "reason=incorrect" in link
    assert "reviewed_bad=1" in steady["versions"][0]["interactions"]


def test_the_signal_explains_a_single_version(
    project: Project, lead: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(lead, "signals", **WINDOW)
    body = _get(lead, "signals").json()

    assert body["empty"].startswith("Too little support")


def test_a_failed_report_is_stored_with_its_reason(
    project: Project, lead: Persona, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from annotation.services import insight_reports

    def broken(*args: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setitem(insight_reports.BUILDERS, "retrieval", broken)
    with django_capture_on_commit_callbacks(execute=True):
        _post(lead, "retrieval", **WINDOW)
    body = _get(lead, "retrieval").json()

    assert body["pending"]["state"] == "failed"
    assert body["pending"]["error"] == "RuntimeError: database went away"


def test_beat_requests_every_report_of_active_projects(
    data: Project, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        count = insight_reports_refresh(now=START + timedelta(days=3))

    assert count == 4
    assert set(InsightReport.objects.values_list("kind", "state")) == {
        ("slices", "done"),
        ("themes", "done"),
        ("retrieval", "done"),
        ("signals", "done"),
    }


@pytest.mark.parametrize("report", ["templates", "retrieval", "signals", "themes"])
def test_the_api_is_for_leads_and_engineers(
    project: Project, annotator: Persona, outsider: Persona, report: str
) -> None:
    assert _get(annotator, report).status_code == 403
    assert _get(outsider, report).status_code == 404
    missing = annotator.client().get(f"/api/v1/insights/{report}")
    assert missing.status_code == 400 and missing.json()["error"]["details"]["field"] == "project"


@pytest.mark.parametrize("page", ["templates", "retrieval", "signals"])
def test_the_pages_answer_in_full_and_as_partials_to_their_readers(
    data: Project,
    client: Any,
    engineer: Persona,
    annotator: Persona,
    page: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(engineer.user)
    if page != "templates":
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/insights/support-bot/reports/{page}", WINDOW)
    full = client.get(f"/insights/support-bot/{page}", WINDOW)
    partial = client.get(f"/insights/support-bot/{page}", WINDOW, headers={"HX-Request": "true"})

    assert full.status_code == 200 and "<html" in full.content.decode()
    assert "/insights/support-bot/interactions?since=" in full.content.decode()
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert "HX-Request" in full["Vary"] and "HX-Request" in partial["Vary"]
    assert client.post(f"/insights/support-bot/{page}").status_code == 405
    client.force_login(annotator.user)
    assert client.get(f"/insights/support-bot/{page}").status_code == 403


def test_the_templates_page_explains_a_bad_window(
    project: Project, client: Any, lead: Persona
) -> None:
    client.force_login(lead.user)
    response = client.get("/insights/support-bot/templates", {"since": "soon"})

    assert response.status_code == 400 and "since" in response.content.decode()


def test_an_unknown_report_cannot_be_requested(
    project: Project, client: Any, lead: Persona
) -> None:
    client.force_login(lead.user)
    assert client.post("/insights/support-bot/reports/weather", WINDOW).status_code == 404
