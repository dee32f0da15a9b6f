"""The alert pages: the list, the rule form with its field errors, one alert with its chart."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from annotation.models import Alert, AlertRule, Project
from annotation.services.alerts import alerts_evaluate
from tests.alerts.rollups import NOW, make_rule, put
from tests.conftest import KeyedProject, Persona

pytestmark = pytest.mark.django_db

LIST = "/lead/projects/support-bot/alerts"
NEW = "/lead/projects/support-bot/alerts/rules/new"
FORM: dict[str, Any] = {
    "name": "thumbs-down spike",
    "metric": "negative_feedback_rate",
    "window_minutes": "60",
    "baseline_minutes": "1440",
    "condition_type": "threshold",
    "condition_value": "0.3",
    "min_count": "20",
    "cooldown_minutes": "60",
    "filter_model_version": "1.4.0, 1.5.0",
    "active": "on",
}


def browser(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def _fired(project: Project, **fields: Any) -> Alert:
    make_rule(project, filters={"model_version": ["1.4.0"]}, **fields)
    for offset in range(-30, -1):
        put(project, offset, rated=100, negative=10)
    put(project, -1, rated=100, negative=90)
    alerts_evaluate(now=NOW)
    return Alert.objects.get()


def test_the_list_shows_rules_and_alerts_to_leads_and_engineers(
    lead: Persona, engineer: Persona, project: Project
) -> None:
    alert = _fired(project)
    page = browser(lead).get(LIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "spike" in text and "firing" in text and NEW in text
    assert f"/lead/projects/support-bot/alerts/{alert.pk}" in text
    assert "90.0% (95% CI" in text and "n = 100" in text
    as_engineer = browser(engineer).get(LIST).content.decode()
    assert "spike" in as_engineer and NEW not in as_engineer


def test_the_list_refuses_annotators_outsiders_and_anonymous(
    annotator: Persona, outsider: Persona, project: Project
) -> None:
    assert browser(annotator).get(LIST).status_code == 403
    assert browser(outsider).get(LIST).status_code == 404
    anonymous = Client().get(LIST)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_the_list_filters_alerts_by_state_as_an_htmx_partial(
    lead: Persona, project: Project
) -> None:
    _fired(project)
    partial = browser(lead).get(LIST, {"state": "resolved"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    text = partial.content.decode()
    assert "<html" not in text and 'id="no-alerts"' in text
    assert "HX-Request" in partial["Vary"]
    assert browser(lead).get(LIST, {"state": "loud"}).status_code == 400


def test_a_lead_creates_a_rule_with_the_form(
    lead: Persona, engineer: Persona, project: Project
) -> None:
    assert browser(engineer).get(NEW).status_code == 403
    assert browser(lead).get(NEW).status_code == 200
    response = browser(lead).post(NEW, FORM)
    assert response.status_code == 302 and response["Location"] == LIST
    rule = AlertRule.objects.get()
    assert rule.filters == {"model_version": ["1.4.0", "1.5.0"]}
    assert (rule.condition_type, rule.condition_value, rule.created_by) == (
        "threshold",
        0.3,
        lead.user,
    )


def _error_next_to(text: str, field: str) -> str:
    match = re.search(rf'id="id_{field}-error">([^<]*)<', text)
    assert match, f"no error shown for {field}"
    return html.unescape(match.group(1))


def test_form_errors_are_shown_at_their_fields(lead: Persona, project: Project) -> None:
    bad = {**FORM, "window_minutes": "0", "condition_value": "high", "metric": "flag_rate"}
    response = browser(lead).post(NEW, bad)
    assert response.status_code == 422
    text = response.content.decode()
    assert "between 1" in _error_next_to(text, "window_minutes")
    assert "not a number" in _error_next_to(text, "condition_value")
    assert "needs the check" in _error_next_to(text, "check")
    assert AlertRule.objects.count() == 0
    partial = browser(lead).post(NEW, {**FORM, "baseline_minutes": "30"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert "shorter than the window" in _error_next_to(partial.content.decode(), "baseline_minutes")


def test_a_taken_name_is_shown_at_the_name(lead: Persona, project: Project) -> None:
    make_rule(project, name="thumbs-down spike")
    response = browser(lead).post(NEW, FORM)
    assert response.status_code == 422
    assert "has this name" in _error_next_to(response.content.decode(), "name")


def test_a_lead_edits_and_deletes_a_rule(lead: Persona, project: Project) -> None:
    rule = make_rule(project)
    edit = f"/lead/projects/support-bot/alerts/rules/{rule.pk}/edit"
    page = browser(lead).get(edit).content.decode()
    assert 'value="spike"' in page
    response = browser(lead).post(edit, {**FORM, "name": "renamed", "min_count": "5"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.min_count) == ("renamed", 5)
    deleted = browser(lead).post(f"/lead/projects/support-bot/alerts/rules/{rule.pk}/delete")
    assert deleted.status_code == 302 and AlertRule.objects.count() == 0


def test_rules_of_other_projects_are_not_found(
    lead: Persona, project: Project, other_keyed_project: KeyedProject
) -> None:
    foreign = make_rule(other_keyed_project.project)
    edit = f"/lead/projects/support-bot/alerts/rules/{foreign.pk}/edit"
    assert browser(lead).get(edit).status_code == 404
    assert (
        browser(lead)
        .post(f"/lead/projects/support-bot/alerts/rules/{foreign.pk}/delete")
        .status_code
        == 404
    )
    assert AlertRule.objects.filter(pk=foreign.pk).exists()


def test_the_alert_page_draws_the_series_and_links_the_interactions(
    engineer: Persona, annotator: Persona, outsider: Persona, project: Project
) -> None:
    alert = _fired(project)
    url = f"/lead/projects/support-bot/alerts/{alert.pk}"
    page = browser(engineer).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<script>" not in text  # no inline script: the chart's figures travel in an attribute
    figures = json.loads(html.unescape(re.search(r'data-figures="([^"]*)"', text).group(1)))
    chart = figures["charts"][0]
    assert chart["id"] == "alert-chart" and chart["kind"] == "rate"
    metric, window, bound = chart["series"]
    assert len(chart["x"]) == len(metric["values"]) >= 24
    assert [v for v in window["values"] if v is not None] == [pytest.approx(0.9)]
    assert set(bound["values"]) == {0.25}
    link = re.search(r'id="alert-interactions" href="([^"]*)"', text).group(1)
    parsed = urlparse(html.unescape(link))
    assert parsed.path == "/insights/support-bot/interactions"
    assert parse_qs(parsed.query) == {
        "since": ["2026-11-20T09:00:00Z"],
        "until": ["2026-11-20T10:20:00Z"],
        "model_version": ["1.4.0"],
        "negative": ["1"],
    }
    assert f"/api/v1/alerts/{alert.pk}/series" in text
    assert browser(annotator).get(url).status_code == 403
    assert browser(outsider).get(url).status_code == 404
    assert browser(engineer).get("/lead/projects/support-bot/alerts/999999").status_code == 404
