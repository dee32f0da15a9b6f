"""GET /api/v1/metrics/timeseries and /compare: figures, statistics, access and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from annotation.models import Check, Project
from annotation.services.rollups import rollups_rebuild
from tests.conftest import Persona
from tests.factories import FeedbackFactory, FlagFactory, InteractionFactory

START = datetime(2026, 11, 20, 8, tzinfo=UTC)
# (model_version, hour offset, rated, of which thumbs down)
TRAFFIC = [
    ("1.4.0", 0, 50, 7),
    ("1.4.0", 1, 50, 7),
    ("1.5.0-rc1", 1, 60, 17),
    ("1.5.0-rc1", 2, 40, 12),
]


@pytest.fixture
def traffic(project: Project) -> Project:
    pii = Check.objects.get(project=project, name="pii")  # every project starts with it
    n = 0
    for version, hour, rated, down in TRAFFIC:
        for i in range(rated):
            interaction = InteractionFactory(
                project=project,
                request_id=f"r-{n}",
                model_version=version,
                timestamp=START + timedelta(hours=hour, minutes=i % 60),
                checked_at=START,
            )
            FeedbackFactory(
                interaction=interaction,
                normalized_score=0.0 if i < down else 1.0,
                value=0.0 if i < down else 1.0,
            )
            if version == "1.5.0-rc1" and i % 10 == 0:
                FlagFactory(check_config=pii, interaction=interaction)
            n += 1
    rollups_rebuild(project=project, since=START, until=START + timedelta(hours=3))
    return project


def _get(persona: Persona, path: str, **params: Any) -> Any:
    return persona.client().get(f"/api/v1/metrics/{path}", {"project": "support-bot", **params})


WINDOW = {"since": "2026-11-20T08:00:00Z", "until": "2026-11-20T12:00:00Z"}


def test_the_timeseries_gives_each_hour_by_model_version(traffic: Project, lead: Persona) -> None:
    response = _get(
        lead, "timeseries", metric="negative_feedback_rate", group_by="model_version", **WINDOW
    )

    assert response.status_code == 200
    body = response.json()
    assert body["bucket"] == "hour"
    series = {s["group"]["model_version"]: s["points"] for s in body["series"]}
    old = series["1.4.0"]
    assert [p["t"] for p in old] == [
        "2026-11-20T08:00:00Z",
        "2026-11-20T09:00:00Z",
        "2026-11-20T10:00:00Z",
        "2026-11-20T11:00:00Z",
    ]
    assert [p["count"] for p in old] == [50, 50, 0, 0]
    assert old[0]["value"] == pytest.approx(7 / 50)
    assert old[2]["value"] is None
    low, high = proportion_confint(7, 50, method="wilson")
    assert old[0]["ci95"] == pytest.approx([low, high], abs=1e-9)
    assert [p["count"] for p in series["1.5.0-rc1"]] == [0, 60, 40, 0]


def test_daily_volume_and_the_flag_rate_of_a_check(traffic: Project, engineer: Persona) -> None:
    volume = _get(engineer, "timeseries", metric="volume", bucket="day", **WINDOW).json()
    flags = _get(
        engineer,
        "timeseries",
        metric="flag_rate",
        check="pii",
        model_version="1.5.0-rc1",
        bucket="day",
        **WINDOW,
    ).json()

    assert volume["series"][0]["points"] == [
        {"t": "2026-11-20T00:00:00Z", "value": 200, "count": 200}
    ]
    point = flags["series"][0]["points"][0]
    assert (point["value"], point["count"]) == (pytest.approx(10 / 100), 100)


def test_compare_matches_statsmodels(traffic: Project, lead: Persona) -> None:
    response = _get(lead, "compare", dimension="model_version", a="1.4.0", b="1.5.0-rc1", **WINDOW)

    assert response.status_code == 200
    body = response.json()
    negative = next(m for m in body["metrics"] if m["metric"] == "negative_feedback_rate")
    assert negative["a"]["value"] == pytest.approx(14 / 100)
    assert negative["b"]["value"] == pytest.approx(29 / 100)
    assert (negative["a"]["count"], negative["b"]["count"]) == (100, 100)
    _, p_value = proportions_ztest([29, 14], [100, 100])
    low, high = confint_proportions_2indep(29, 100, 14, 100, method="wald", compare="diff")
    assert negative["difference"] == pytest.approx(0.15, abs=1e-12)
    assert negative["p_value"] == pytest.approx(p_value, abs=1e-9)
    assert negative["ci95"] == pytest.approx([low, high], abs=1e-9)
    assert negative["test"] == "two_proportion_z"
    assert negative["required_n"] > 100
    flag = next(m for m in body["metrics"] if m["metric"] == "flag_rate")
    assert flag["check"] == "pii" and flag["a"]["value"] == 0.0
    assert body["reviewed_bad_rate"]["a"]["n"] == 0
    assert "No settled reviews" in body["reviewed_bad_rate"]["a"]["warning"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("timeseries", {"metric": "happiness"}, "metric"),
        ("timeseries", {}, "metric"),
        ("timeseries", {"metric": "volume", "group_by": "colour"}, "group_by"),
        ("timeseries", {"metric": "volume", "since": "2026-02-30T00:00:00Z"}, "since"),
        (
            "timeseries",
            {"metric": "volume", "since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"},
            "since",
        ),
        ("timeseries", {"metric": "volume", "since": "2020-01-01T00:00:00Z"}, "bucket"),
        ("timeseries", {"metric": "volume", "bucket": "minute"}, "bucket"),
        ("timeseries", {"metric": "flag_rate"}, "check"),
        ("timeseries", {"metric": "flag_rate", "check": "nope"}, "check"),
        ("timeseries", {"metric": "reviewed_bad_rate", "queue": "999"}, "queue"),
        ("compare", {"dimension": "model_version", "a": "1.4.0", "b": "1.4.0"}, "b"),
        ("compare", {"dimension": "model_version", "a": "1.4.0"}, "b"),
        ("compare", {"dimension": "colour", "a": "x", "b": "y"}, "dimension"),
    ],
)
def test_bad_queries_get_a_400_naming_the_parameter(
    traffic: Project, lead: Persona, path: str, params: dict[str, str], field: str
) -> None:
    response = _get(lead, path, **params)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field


def test_annotators_and_outsiders_do_not_see_metrics(
    traffic: Project, annotator: Persona, outsider: Persona
) -> None:
    assert _get(annotator, "timeseries", metric="volume").status_code == 403
    assert _get(outsider, "timeseries", metric="volume").status_code == 404
