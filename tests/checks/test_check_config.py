from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from annotation.checks.config import CheckConfigError
from annotation.models import Check, Project
from annotation.services.check_config import check_save
from tests.conftest import Persona
from tests.fakes.openai_server import FakeOpenAI, fake_openai_server


@pytest.fixture
def judge_server(settings: Any) -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        settings.JUDGE_BASE_URL = server.base_url
        settings.JUDGE_MODEL = "judge"
        yield server


def test_a_new_project_has_the_rule_checks_on(project: Project) -> None:
    assert set(project.checks.values_list("name", "type", "enabled")) == {
        ("pii", "pii", True),
        ("blocklist", "blocklist", True),
        ("format", "format", True),
    }


@pytest.mark.parametrize(
    ("check_type", "parameters", "field", "fragment"),
    [
        ("regex-magic", {}, "type", "unknown check type"),
        (
            "format",
            {"deny_patterns": ["(unclosed"]},
            "parameters.deny_patterns[0]",
            "Invalid regular expression",
        ),
        (
            "format",
            {"deny_patterns": ["ok", "(?<=secret )code"]},
            "parameters.deny_patterns[1]",
            "lookbehind is not supported",
        ),
        (
            "format",
            {"json_templates": {"t": {"properties": {"id": {"pattern": r"(\d)\1"}}}}},
            "parameters.json_templates.t",
            "$.properties.id.pattern",
        ),
        (
            "format",
            {"json_templates": {"t": {"type": "nonsense"}}},
            "parameters.json_templates.t",
            "",
        ),
        ("format", {"max_chars": 0}, "parameters.max_chars", ">= 1"),
        ("format", {"colour": "blue"}, "parameters.colour", "unknown field"),
        ("pii", {"kinds": ["email", "dna"]}, "parameters.kinds", "dna"),
        ("pii", {"region": "XX"}, "parameters.region", "phone region"),
        ("blocklist", {"terms": "idiot"}, "parameters.terms", "array"),
        ("llm_judge", {"rubric": "Is it polite?"}, "parameters.rubric", "{response}"),
        ("llm_judge", {"rubric": "Rate {response} for {tone}"}, "parameters.rubric", "tone"),
        ("python", {"callable": "no.such.module:fn"}, "parameters.callable", "`evaluator`"),
        ("python", {"evaluator": "no.such.module:fn"}, "parameters.evaluator", "not an allowed"),
    ],
)
def test_a_bad_configuration_is_refused_when_saved(
    project: Project, check_type: str, parameters: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(CheckConfigError) as caught:
        check_save(project=project, name="new", check_type=check_type, parameters=parameters)

    assert caught.value.field == field
    assert fragment in caught.value.message
    assert not Check.objects.filter(name="new").exists()


def test_an_unreachable_judge_is_refused_when_saved(project: Project, settings: Any) -> None:
    settings.JUDGE_BASE_URL = "http://127.0.0.1:9/v1"

    with pytest.raises(CheckConfigError, match="judge endpoint is not usable"):
        check_save(
            project=project,
            name="judge",
            check_type="llm_judge",
            parameters={"rubric": "Polite? {response}"},
        )


def test_a_judge_without_an_endpoint_is_refused(project: Project, settings: Any) -> None:
    settings.JUDGE_BASE_URL = ""

    with pytest.raises(CheckConfigError, match="JUDGE_BASE_URL"):
        check_save(
            project=project,
            name="judge",
            check_type="llm_judge",
            parameters={"rubric": "{response}"},
        )


def test_a_reachable_judge_is_saved(project: Project, judge_server: FakeOpenAI) -> None:
    check = check_save(
        project=project,
        name="politeness",
        check_type="llm_judge",
        parameters={"rubric": "Is this polite? {response}"},
        severity="critical",
        sample_rate=0.25,
    )

    assert check.parameters["threshold"] == 0.5
    assert check.severity == 30 and check.sample_rate == 0.25


def test_leads_configure_checks_through_the_api(lead: Persona, project: Project) -> None:
    client = lead.client()

    created = client.post(
        "/api/v1/checks",
        {
            "project": "support-bot",
            "name": "no-internal",
            "type": "format",
            "severity": "critical",
            "parameters": {"deny_patterns": ["(?i)internal only"]},
        },
        format="json",
    )
    bad = client.patch(
        f"/api/v1/checks/{created.json()['id']}",
        {"parameters": {"deny_patterns": ["["]}},
        format="json",
    )
    listed = client.get("/api/v1/checks?project=support-bot")

    assert created.status_code == 201
    assert created.json()["severity"] == "critical"
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_check"
    assert bad.json()["error"]["details"]["field"] == "parameters.deny_patterns[0]"
    assert Check.objects.get(name="no-internal").parameters["deny_patterns"] == [
        "(?i)internal only"
    ]
    assert {c["name"] for c in listed.json()} == {"pii", "blocklist", "format", "no-internal"}


def test_only_leads_change_checks(
    engineer: Persona, annotator: Persona, outsider: Persona, project: Project
) -> None:
    check = project.checks.get(name="pii")
    body = {"enabled": False}

    assert engineer.client().get(f"/api/v1/checks/{check.pk}").status_code == 200
    assert (
        engineer.client().patch(f"/api/v1/checks/{check.pk}", body, format="json").status_code
        == 403
    )
    assert annotator.client().get(f"/api/v1/checks/{check.pk}").status_code == 403
    assert outsider.client().get(f"/api/v1/checks/{check.pk}").status_code == 404
    assert (
        engineer.client()
        .post(
            "/api/v1/checks", {"project": "support-bot", "name": "x", "type": "pii"}, format="json"
        )
        .status_code
        == 403
    )
    check.refresh_from_db()
    assert check.enabled


def test_the_report_says_when_there_is_no_review_data(lead: Persona, project: Project) -> None:
    check = project.checks.get(name="pii")

    report = lead.client().get(f"/api/v1/checks/{check.pk}/report").json()

    assert report["status"] == "no_review_data"


def test_the_report_measures_a_check_against_reviewers(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    from django.utils import timezone

    from annotation.models import Annotation
    from annotation.models.review import Adjudication
    from tests.factories import FlagFactory, InteractionFactory, QueueItemFactory
    from tests.review.conftest import make_queue

    queue = make_queue(project, [annotator], name="Reviewed", overlap=1)
    pii = project.checks.get(name="pii")
    now = timezone.now()

    def reviewed(verdict: str, *, flagged: bool, probability: float = 1.0) -> None:
        item = QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(project=project),
            inclusion_probability=probability,
            state="done",
        )
        Annotation.objects.create(
            item=item,
            annotator=annotator.user,
            values={"verdict": verdict},
            created_at=now,
            updated_at=now,
        )
        if flagged:
            FlagFactory(check_config=pii, interaction=item.interaction)

    reviewed("bad", flagged=True)  # true positive
    reviewed("bad", flagged=True, probability=0.5)  # true positive, counts twice in the estimate
    reviewed("good", flagged=True)  # false positive
    reviewed("bad", flagged=False, probability=0.1)  # false negative, counts ten times
    reviewed("good", flagged=False)  # true negative
    overruled = QueueItemFactory(
        queue=queue, interaction=InteractionFactory(project=project), state="done"
    )
    Annotation.objects.create(
        item=overruled,
        annotator=annotator.user,
        values={"verdict": "good"},
        created_at=now,
        updated_at=now,
    )
    Adjudication.objects.create(
        item=overruled, lead=lead.user, values={"verdict": "bad"}
    )  # lead: bad -> false negative

    report = lead.client().get(f"/api/v1/checks/{pii.pk}/report?queue={queue.pk}").json()

    assert report["status"] == "ok"
    assert report["counts"] == {
        "manual": 0,
        "unsettled": 0,
        "not_done": 0,
        "reviewed": 6,
        "true_positives": 2,
        "false_positives": 1,
        "false_negatives": 2,
        "true_negatives": 1,
    }
    assert report["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert report["recall"] == pytest.approx(0.5, abs=1e-6)
    assert report["f1"] == pytest.approx(4 / 7, abs=1e-6)
    estimate = report["population_estimate"]
    assert estimate["precision"] == pytest.approx(3 / 4, abs=1e-6)
    assert estimate["recall"] == pytest.approx(3 / 14, abs=1e-6)
