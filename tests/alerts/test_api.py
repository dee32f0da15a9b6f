"""The alert-rules and alerts API: create, list, change, delete; bad input; who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Alert, AlertRule, Project, Trigger, Webhook
from annotation.services.alerts import alerts_evaluate
from tests.alerts.rollups import NOW, make_rule, put
from tests.conftest import KeyedProject, Persona
from tests.factories import CheckFactory

pytestmark = pytest.mark.django_db

RULE: dict[str, Any] = {
    "project": "support-bot",
    "name": "thumbs-down spike",
    "metric": "negative_feedback_rate",
    "filters": {"model_version": ["2026-10-01"]},
    "window_minutes": 60,
    "baseline_minutes": 1440,
    "condition": {"type": "threshold", "value": 0.3},
    "min_count": 20,
    "cooldown_minutes": 60,
}


def _webhook(project: Project, name: str = "ci") -> Webhook:
    return Webhook.objects.create(project=project, name=name, url="https://ci.example.com/hook")


def _trigger(project: Project, name: str = "nightly") -> Trigger:
    return Trigger.objects.create(project=project, name=name, export_request={"kind": "sft"})


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()["error"]
    return body


def test_it_creates_a_rule_in_the_design_shape(lead: Persona, project: Project) -> None:
    hook = _webhook(project)
    response = lead.client().post(
        "/api/v1/alert-rules", {**RULE, "webhooks": [hook.pk]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "thumbs-down spike" and body["project"] == "support-bot"
    assert body["condition"] == {"type": "threshold", "value": 0.3, "direction": "above"}
    assert body["filters"] == {"model_version": ["2026-10-01"]}
    assert body["webhooks"] == [hook.pk]
    rule = AlertRule.objects.get(pk=body["id"])
    assert rule.created_by == lead.user and rule.window_minutes == 60


def test_a_flag_rate_rule_names_its_check(lead: Persona, project: Project) -> None:
    check = CheckFactory(project=project, name="emails")
    body = {**RULE, "metric": "flag_rate", "check": "emails", "min_severity": "warning"}
    response = lead.client().post("/api/v1/alert-rules", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["check"] == "emails"
    assert AlertRule.objects.get().check_config == check
    by_id = lead.client().post(
        "/api/v1/alert-rules", {**body, "name": "by id", "check": check.pk}, format="json"
    )
    assert by_id.status_code == 201


def test_mean_rating_rules_watch_for_a_fall_by_default(lead: Persona) -> None:
    body = {**RULE, "metric": "mean_rating", "condition": {"type": "threshold", "value": 0.6}}
    response = lead.client().post("/api/v1/alert-rules", body, format="json")
    assert response.json()["condition"]["direction"] == "below"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"window_minutes": 0}, "window_minutes", "between 1"),
        ({"window_minutes": 0.5}, "window_minutes", "whole number"),
        ({"window_minutes": "soon"}, "window_minutes", "not a number"),
        ({"baseline_minutes": 30}, "baseline_minutes", "shorter than the window"),
        ({"metric": "happiness"}, "metric", "Unknown metric"),
        ({"metric": "flag_rate"}, "check", "needs the check"),
        ({"check": "pii"}, "check", "Only flag_rate"),
        ({"condition": {"type": "sometimes", "value": 1}}, "condition.type", "Unknown condition"),
        ({"condition": {"type": "threshold", "value": "high"}}, "condition.value", "not a number"),
        ({"condition": {"type": "threshold", "value": 3}}, "condition.value", "between 0 and 1"),
        (
            {"condition": {"type": "zscore", "value": 3}, "baseline_minutes": 60},
            "baseline_minutes",
            "two baseline buckets",
        ),
        ({"condition": "threshold"}, "condition", "Send an object"),
        ({"filters": {"colour": ["red"]}}, "filters.colour", "Unknown dimension"),
        ({"min_count": -1}, "min_count", "between 0"),
        ({"cooldown_minutes": True}, "cooldown_minutes", "whole number"),
        ({"name": ""}, "name", "1 to 100"),
        ({"webhooks": ["three"]}, "webhooks", "not a webhook id"),
        ({"surprise": 1}, "surprise", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    lead: Persona, change: dict[str, Any], field: str, words: str
) -> None:
    response = lead.client().post("/api/v1/alert-rules", {**RULE, **change}, format="json")
    error = _error(response, 400)
    assert field in error["details"], error
    assert words in " ".join(error["details"][field]), error
    assert AlertRule.objects.count() == 0


def test_references_to_other_projects_are_refused(
    lead: Persona, project: Project, other_keyed_project: KeyedProject
) -> None:
    other = other_keyed_project.project
    foreign_check = CheckFactory(project=other, name="emails")
    body = {**RULE, "metric": "flag_rate", "check": foreign_check.pk}
    assert (
        "check"
        in _error(lead.client().post("/api/v1/alert-rules", body, format="json"), 400)["details"]
    )
    for field, item in (("webhooks", _webhook(other)), ("triggers", _trigger(other))):
        response = lead.client().post(
            "/api/v1/alert-rules", {**RULE, field: [item.pk]}, format="json"
        )
        error = _error(response, 400)
        assert str(item.pk) in error["details"][field][0]
    assert AlertRule.objects.count() == 0


def test_names_are_unique_in_a_project(lead: Persona) -> None:
    assert lead.client().post("/api/v1/alert-rules", RULE, format="json").status_code == 201
    error = _error(lead.client().post("/api/v1/alert-rules", RULE, format="json"), 409)
    assert error["code"] == "name_taken" and "name" in error["details"]


def test_only_leads_create_rules(
    annotator: Persona, engineer: Persona, outsider: Persona, project: Project
) -> None:
    assert annotator.client().post("/api/v1/alert-rules", RULE, format="json").status_code == 403
    assert engineer.client().post("/api/v1/alert-rules", RULE, format="json").status_code == 403
    assert outsider.client().post("/api/v1/alert-rules", RULE, format="json").status_code == 404
    assert APIClient().post("/api/v1/alert-rules", RULE, format="json").status_code in (401, 403)
    assert AlertRule.objects.count() == 0


def test_leads_and_engineers_list_and_read_rules(
    lead: Persona, engineer: Persona, annotator: Persona, outsider: Persona, project: Project
) -> None:
    rule = make_rule(project)
    for persona in (lead, engineer):
        listed = persona.client().get("/api/v1/alert-rules", {"project": "support-bot"})
        assert [item["id"] for item in listed.json()] == [rule.pk]
        assert persona.client().get(f"/api/v1/alert-rules/{rule.pk}").json()["name"] == "spike"
    assert annotator.client().get("/api/v1/alert-rules").json() == []
    assert (
        annotator.client().get("/api/v1/alert-rules", {"project": "support-bot"}).status_code == 403
    )
    assert annotator.client().get(f"/api/v1/alert-rules/{rule.pk}").status_code == 403
    assert outsider.client().get("/api/v1/alert-rules").json() == []
    assert outsider.client().get(f"/api/v1/alert-rules/{rule.pk}").status_code == 404
    assert (
        outsider.client()
        .patch(f"/api/v1/alert-rules/{rule.pk}", {"active": False}, format="json")
        .status_code
        == 404
    )
    assert outsider.client().delete(f"/api/v1/alert-rules/{rule.pk}").status_code == 404
    assert APIClient().get("/api/v1/alert-rules").status_code in (401, 403)


def test_a_lead_changes_some_fields(lead: Persona, engineer: Persona, project: Project) -> None:
    rule = make_rule(project)
    url = f"/api/v1/alert-rules/{rule.pk}"
    assert engineer.client().patch(url, {"min_count": 5}, format="json").status_code == 403
    response = lead.client().patch(
        url, {"min_count": 5, "condition": {"type": "zscore", "value": 3}}, format="json"
    )
    assert response.status_code == 200, response.content
    rule.refresh_from_db()
    assert (rule.min_count, rule.condition_type, rule.condition_value) == (5, "zscore", 3.0)
    assert rule.window_minutes == 60  # untouched
    error = _error(lead.client().patch(url, {"window_minutes": 0}, format="json"), 400)
    assert "window_minutes" in error["details"]
    error = _error(lead.client().patch(url, {"project": "other-bot"}, format="json"), 400)
    assert "project" in error["details"]


def test_switching_a_rule_off_resolves_its_alert(lead: Persona, project: Project) -> None:
    rule = make_rule(project)
    put(project, -1, rated=100, negative=90)
    alerts_evaluate(now=NOW)
    response = lead.client().patch(
        f"/api/v1/alert-rules/{rule.pk}", {"active": False}, format="json"
    )
    assert response.status_code == 200
    assert Alert.objects.get().state == "resolved"


def test_a_lead_deletes_a_rule_and_its_alerts(
    lead: Persona, engineer: Persona, project: Project
) -> None:
    rule = make_rule(project)
    put(project, -1, rated=100, negative=90)
    alerts_evaluate(now=NOW)
    assert engineer.client().delete(f"/api/v1/alert-rules/{rule.pk}").status_code == 403
    assert lead.client().delete(f"/api/v1/alert-rules/{rule.pk}").status_code == 204
    assert AlertRule.objects.count() == 0 and Alert.objects.count() == 0


def test_alerts_are_listed_with_filters(
    lead: Persona, engineer: Persona, annotator: Persona, outsider: Persona, project: Project
) -> None:
    first = make_rule(project, name="first")
    second = make_rule(project, name="second", condition_value=0.95)
    put(project, -1, rated=100, negative=90)
    alerts_evaluate(now=NOW)
    body = engineer.client().get("/api/v1/alerts", {"project": "support-bot"}).json()
    assert [alert["rule"] for alert in body["alerts"]] == ["first"]
    alert = body["alerts"][0]
    assert alert["state"] == "firing" and alert["value"] == pytest.approx(0.9)
    assert alert["count"] == 100 and len(alert["ci95"]) == 2
    assert alert["window"] == ["2026-11-20T09:00:00Z", "2026-11-20T10:20:00Z"]
    assert lead.client().get("/api/v1/alerts", {"rule": second.pk}).json()["alerts"] == []
    assert lead.client().get("/api/v1/alerts", {"state": "resolved"}).json()["alerts"] == []
    assert (
        len(
            lead.client()
            .get("/api/v1/alerts", {"rule": first.pk, "state": "firing"})
            .json()["alerts"]
        )
        == 1
    )
    assert (
        lead.client().get("/api/v1/alerts", {"since": "2026-11-21T00:00:00Z"}).json()["alerts"]
        == []
    )
    assert "state" in _error(lead.client().get("/api/v1/alerts", {"state": "loud"}), 400)["details"]
    assert (
        "since"
        in _error(lead.client().get("/api/v1/alerts", {"since": "yesterday"}), 400)["details"]
    )
    assert "limit" in _error(lead.client().get("/api/v1/alerts", {"limit": "0"}), 400)["details"]
    assert annotator.client().get("/api/v1/alerts").json()["alerts"] == []
    assert outsider.client().get("/api/v1/alerts").json()["alerts"] == []
    assert outsider.client().get("/api/v1/alerts", {"rule": first.pk}).status_code == 404
    assert outsider.client().get(f"/api/v1/alerts/{alert['id']}").status_code == 404
    assert lead.client().get(f"/api/v1/alerts/{alert['id']}").json()["rule"] == "first"


def test_alerts_page_by_keyset(lead: Persona, project: Project) -> None:
    for index in range(3):
        make_rule(project, name=f"rule {index}")
    put(project, -1, rated=100, negative=90)
    alerts_evaluate(now=NOW)
    first = lead.client().get("/api/v1/alerts", {"limit": 2}).json()
    assert len(first["alerts"]) == 2 and first["next_before"] == first["alerts"][1]["id"]
    rest = lead.client().get("/api/v1/alerts", {"limit": 2, "before": first["next_before"]}).json()
    assert len(rest["alerts"]) == 1 and rest["next_before"] is None


def test_the_series_around_an_alert(lead: Persona, engineer: Persona, project: Project) -> None:
    make_rule(project)
    for offset in range(-30, 0):
        put(project, offset, rated=100, negative=10)
    put(project, -1, rated=100, negative=90)
    alerts_evaluate(now=NOW)
    alert = Alert.objects.get()
    body = engineer.client().get(f"/api/v1/alerts/{alert.pk}/series").json()
    assert body["bound"] == 0.25
    by_time = {point["t"]: point for point in body["points"]}
    marked = by_time["2026-11-20T09:00:00Z"]
    assert marked["in_window"] and marked["value"] == pytest.approx(0.9) and marked["count"] == 100
    assert len(marked["ci95"]) == 2
    assert not by_time["2026-11-20T08:00:00Z"]["in_window"]
    assert by_time["2026-11-20T08:00:00Z"]["value"] == pytest.approx(0.1)
    assert body["since"] <= "2026-11-19T09:00:00Z"
