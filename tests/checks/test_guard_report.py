"""The guard report: a check against what reviewers settled, per queue, with intervals."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from statsmodels.stats.proportion import proportion_confint

from annotation.models import Annotation, Check, Project, Queue
from annotation.models.review import Adjudication, ItemState, QueueItem
from annotation.review.guard import GuardTally, parse_catches, wilson
from annotation.services.manual_items import queue_add_interactions
from tests.conftest import Persona, _persona
from tests.factories import FlagFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue


@pytest.fixture
def third(project: Project) -> Persona:
    from annotation.models import Role

    return _persona(project, "third", Role.ANNOTATOR)


class Reviewed:
    """Done items of one queue with annotations by the given personas."""

    def __init__(self, queue: Queue, personas: list[Persona], pii: Check) -> None:
        self.queue = queue
        self.personas = personas
        self.pii = pii

    def item(
        self,
        *answers: dict[str, Any],
        fired: bool = False,
        probability: float = 1.0,
        state: str = ItemState.DONE,
        lead: dict[str, Any] | None = None,
    ) -> QueueItem:
        item = QueueItemFactory(
            queue=self.queue,
            interaction=InteractionFactory(project=self.queue.project),
            inclusion_probability=probability,
            state=state,
            annotations_done=len(answers),
        )
        now = timezone.now()
        for persona, values in zip(self.personas, answers, strict=False):
            Annotation.objects.create(
                item=item, annotator=persona.user, values=values, created_at=now, updated_at=now
            )
        if lead is not None:
            Adjudication.objects.create(item=item, values=lead)
        if fired:
            FlagFactory(check_config=self.pii, interaction=item.interaction)
        return item


def _report(persona: Persona, check: Check, **params: Any) -> dict[str, Any]:
    response = persona.client().get(f"/api/v1/checks/{check.pk}/report", params)
    assert response.status_code == 200, response.content
    return dict(response.json())


BAD_PII = {"verdict": "bad", "reasons": ["unsafe"]}
BAD_OTHER = {"verdict": "bad", "reasons": ["incorrect"]}
GOOD = {"verdict": "good"}


def test_it_measures_recall_against_the_mapped_reason_not_every_bad_verdict(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    queue = make_queue(project, [annotator], name="One", overlap=1)
    reviewed = Reviewed(queue, [annotator], pii)
    for _ in range(3):
        reviewed.item(BAD_PII, fired=True)
    for _ in range(12):
        reviewed.item(BAD_OTHER)  # bad for reasons PII has nothing to do with
    reviewed.item(GOOD)

    mapped = lead.client().patch(
        f"/api/v1/checks/{pii.pk}", {"catches": {"reasons": ["unsafe"]}}, format="json"
    )
    assert mapped.status_code == 200
    assert mapped.json()["catches"] == {"reasons": ["unsafe"]}
    report = _report(lead, pii, queue=queue.pk)

    assert report["truth"] == "reasons: unsafe"
    assert report["counts"]["false_negatives"] == 0
    assert report["counts"]["true_negatives"] == 13
    assert report["recall"] == 1.0 and report["precision"] == 1.0


def test_without_a_mapping_it_falls_back_to_the_verdict_and_says_so(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    queue = make_queue(project, [annotator], name="One", overlap=1)
    reviewed = Reviewed(queue, [annotator], pii)
    reviewed.item(BAD_PII, fired=True)
    reviewed.item(BAD_OTHER)

    report = _report(lead, pii, queue=queue.pk)

    assert report["truth"] == "verdict"
    assert "bad" in report["negative_verdicts"]
    assert report["counts"]["false_negatives"] == 1
    assert report["recall"] == 0.5


def test_it_counts_only_settled_items_and_leaves_ties_out(
    lead: Persona,
    project: Project,
    annotator: Persona,
    other_annotator: Persona,
) -> None:
    pii = project.checks.get(name="pii")
    queue = make_queue(project, [annotator, other_annotator], name="Pairs", overlap=2)
    reviewed = Reviewed(queue, [annotator, other_annotator], pii)
    reviewed.item(BAD_PII, BAD_PII, fired=True)  # settled: bad
    reviewed.item(BAD_PII, GOOD, fired=True)  # a tie, nobody decided: unsettled
    reviewed.item(BAD_PII, GOOD, lead={"verdict": "good"}, fired=True)  # the lead: good
    reviewed.item(BAD_PII, state=ItemState.OPEN)  # one of two annotations in: not done
    reviewed.item(
        BAD_PII, GOOD, state=ItemState.NEEDS_ADJUDICATION
    )  # waiting for the lead: not done

    report = _report(lead, pii, queue=queue.pk)

    assert report["counts"] == {
        "reviewed": 2,
        "true_positives": 1,
        "false_positives": 1,
        "false_negatives": 0,
        "true_negatives": 0,
        "unsettled": 1,
        "not_done": 2,
        "manual": 0,
    }


def test_it_reports_each_queue_apart_unless_one_is_asked_for(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    first = make_queue(project, [annotator], name="First", overlap=1)
    second = make_queue(project, [annotator], name="Second", overlap=1)
    Reviewed(first, [annotator], pii).item(BAD_PII, fired=True)
    Reviewed(second, [annotator], pii).item(BAD_PII)

    everything = _report(lead, pii)
    one = _report(lead, pii, queue=second.pk)

    assert everything["pooled"] is False
    assert [(q["queue"]["name"], q["recall"]) for q in everything["queues"]] == [
        ("First", 1.0),
        ("Second", 0.0),
    ]
    assert one["queue"] == {"id": second.pk, "name": "Second"}
    assert one["counts"]["reviewed"] == 1


def test_it_refuses_a_queue_that_is_not_one_of_the_project(
    lead: Persona, project: Project, other_keyed_project: Any
) -> None:
    pii = project.checks.get(name="pii")
    elsewhere = make_queue(other_keyed_project.project, [], name="Elsewhere")

    foreign = lead.client().get(f"/api/v1/checks/{pii.pk}/report", {"queue": elsewhere.pk})
    garbage = lead.client().get(f"/api/v1/checks/{pii.pk}/report", {"queue": "1; drop"})

    assert foreign.status_code == 404
    assert foreign.json()["error"]["details"] == {"field": "queue"}
    assert garbage.status_code == 400
    assert garbage.json()["error"]["details"] == {"field": "queue"}


def test_a_label_field_can_define_what_the_check_should_catch(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    schema = {
        "fields": [
            {"name": "verdict", "type": "choice", "options": ["good", "bad"], "agreement": True},
            {"name": "pii", "type": "choice", "options": ["yes", "no"]},
        ]
    }
    queue = make_queue(project, [annotator], name="Labelled", overlap=1, schema=schema)
    reviewed = Reviewed(queue, [annotator], pii)
    reviewed.item({"verdict": "bad", "pii": "yes"}, fired=True)
    reviewed.item({"verdict": "good", "pii": "yes"})  # good answer, still leaks: a miss
    reviewed.item({"verdict": "bad", "pii": "no"})

    lead.client().patch(
        f"/api/v1/checks/{pii.pk}", {"catches": {"labels": {"pii": "yes"}}}, format="json"
    )
    report = _report(lead, pii, queue=queue.pk)

    assert report["truth"] == "pii: yes"
    assert report["counts"]["true_positives"] == 1
    assert report["counts"]["false_negatives"] == 1
    assert report["counts"]["true_negatives"] == 1


@pytest.mark.parametrize(
    ("catches", "field"),
    [
        ({"reasons": "x" * 300}, "catches.reasons"),
        ({"reasons": [1]}, "catches.reasons"),
        ({"labels": {"pii": []}}, "catches.labels.pii"),
        ({"labels": {"pii": {"nested": 1}}}, "catches.labels.pii"),
        ({"whatever": 1}, "catches.whatever"),
        ([1], "catches"),
    ],
)
def test_it_refuses_a_mapping_it_cannot_read(
    lead: Persona, project: Project, catches: Any, field: str
) -> None:
    pii = project.checks.get(name="pii")

    response = lead.client().patch(f"/api/v1/checks/{pii.pk}", {"catches": catches}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field


def test_only_leads_map_a_check(engineer: Persona, project: Project) -> None:
    pii = project.checks.get(name="pii")

    response = engineer.client().patch(
        f"/api/v1/checks/{pii.pk}", {"catches": {"reasons": ["unsafe"]}}, format="json"
    )

    # An engineer is a member of the project without the lead role: 403, and nothing changes.
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    pii.refresh_from_db()
    assert pii.catches == {}


def test_the_report_carries_wilson_intervals_as_statsmodels_computes_them(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    queue = make_queue(project, [annotator], name="Wilson", overlap=1)
    reviewed = Reviewed(queue, [annotator], pii)
    for _ in range(7):
        reviewed.item(BAD_PII, fired=True)
    for _ in range(2):
        reviewed.item(GOOD, fired=True)
    for _ in range(4):
        reviewed.item(BAD_PII)

    report = _report(lead, pii, queue=queue.pk)

    precision = proportion_confint(7, 9, alpha=0.05, method="wilson")
    recall = proportion_confint(7, 11, alpha=0.05, method="wilson")
    assert report["precision_ci95"] == pytest.approx(list(precision), abs=1e-6)
    assert report["recall_ci95"] == pytest.approx(list(recall), abs=1e-6)
    assert report["precision_n"] == 9 and report["recall_n"] == 11


@pytest.mark.parametrize(
    ("successes", "n"), [(0, 1), (1, 1), (0, 20), (20, 20), (3, 17), (149, 149)]
)
def test_wilson_matches_statsmodels(successes: int, n: int) -> None:
    expected = proportion_confint(successes, n, alpha=0.05, method="wilson")

    assert wilson(successes, n) == pytest.approx(expected, abs=1e-12)


def test_items_added_by_hand_are_left_out_of_the_catch_statistics(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    queue = make_queue(project, [annotator], name="Hand-picked", overlap=1)
    reviewed = Reviewed(queue, [annotator], pii)
    reviewed.item(BAD_PII, fired=True)  # sampled: a true positive
    picked = [InteractionFactory(project=project) for _ in range(3)]
    queue_add_interactions(queue=queue, interaction_ids=[i.pk for i in picked], added_by=None)
    now = timezone.now()
    for item in QueueItem.objects.filter(queue=queue, stratum="manual"):
        Annotation.objects.create(
            item=item, annotator=annotator.user, values=GOOD, created_at=now, updated_at=now
        )
        FlagFactory(check_config=pii, interaction=item.interaction)  # would be false positives
    QueueItem.objects.filter(queue=queue, stratum="manual").update(
        state=ItemState.DONE, annotations_done=1
    )

    report = _report(lead, pii, queue=queue.pk)

    assert report["counts"]["reviewed"] == 1
    assert report["counts"]["true_positives"] == 1
    assert report["counts"]["false_positives"] == 0
    assert report["counts"]["manual"] == 3
    assert report["population_estimate"]["n"] == 1


def test_asking_again_reads_the_counters_not_the_items_until_the_queue_changes(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    queue = make_queue(project, [annotator], name="Cached", overlap=1)
    reviewed = Reviewed(queue, [annotator], pii)
    for _ in range(5):
        reviewed.item(BAD_PII, fired=True)
    first = _report(lead, pii, queue=queue.pk)

    with CaptureQueriesContext(connection) as again:
        second = _report(lead, pii, queue=queue.pk)

    assert second == first and first["counts"]["reviewed"] == 5
    tables = " ".join(q["sql"] for q in again.captured_queries)
    assert "annotation_annotation" not in tables and "annotation_flag" not in tables
    assert "annotation_queueitem" not in tables
    assert len(again.captured_queries) <= 8
    # A newly settled item changes the queue's counters: the report is computed again.
    reviewed.item(GOOD)
    third = _report(lead, pii, queue=queue.pk)
    assert third["counts"]["reviewed"] == 6 and third["counts"]["true_negatives"] == 1
    # So does a new mapping of the check.
    lead.client().patch(
        f"/api/v1/checks/{pii.pk}", {"catches": {"reasons": ["incorrect"]}}, format="json"
    )
    remapped = _report(lead, pii, queue=queue.pk)
    assert remapped["truth"] == "reasons: incorrect"
    assert remapped["counts"]["false_positives"] == 5


def test_the_weighted_estimate_weights_items_by_their_inclusion_probability(
    lead: Persona, project: Project, annotator: Persona
) -> None:
    pii = project.checks.get(name="pii")
    queue = make_queue(project, [annotator], name="Weighted", overlap=1)
    reviewed = Reviewed(queue, [annotator], pii)
    reviewed.item(BAD_PII, fired=True)  # tp, weight 1
    reviewed.item(BAD_PII, fired=True, probability=0.5)  # tp, weight 2
    reviewed.item(GOOD, fired=True)  # fp, weight 1
    reviewed.item(BAD_PII, probability=0.1)  # fn, weight 10
    reviewed.item(GOOD)  # tn
    reviewed.item(GOOD, lead={"verdict": "bad"})  # the lead overrules: fn, weight 1

    report = _report(lead, pii, queue=queue.pk)

    assert report["counts"]["reviewed"] == 6
    estimate = report["population_estimate"]
    assert estimate["precision"] == pytest.approx(3 / 4, abs=1e-6)
    assert estimate["recall"] == pytest.approx(3 / 14, abs=1e-6)
    low, high = estimate["recall_ci95"]
    assert low <= 3 / 14 <= high and high - low > 0


def test_the_weighted_interval_covers_the_true_recall_in_a_seeded_simulation() -> None:
    """Poisson sampling from a known population: the 95% interval covers the truth ≥ 90%."""
    rng = random.Random(20261202)
    population = []
    for _ in range(20_000):
        bad = rng.random() < 0.1
        fired = rng.random() < (0.7 if bad else 0.03)
        # Flagged items are over-sampled, the rest thinly, as queues do.
        probability = 0.6 if fired else 0.03
        population.append((fired, bad, probability))
    true_recall = sum(f and b for f, b, _ in population) / sum(b for _, b, _ in population)
    true_precision = sum(f and b for f, b, _ in population) / sum(f for f, _, _ in population)

    covered_recall = covered_precision = 0
    runs = 200
    for _ in range(runs):
        tally = GuardTally()
        for fired, bad, probability in population:
            if rng.random() < probability:
                tally.add(fired=fired, truth=bad, probability=probability)
        estimate = tally.figures()["population_estimate"]
        low, high = estimate["recall_ci95"]
        covered_recall += low <= true_recall <= high
        low, high = estimate["precision_ci95"]
        covered_precision += low <= true_precision <= high

    assert covered_recall / runs >= 0.9
    assert covered_precision / runs >= 0.9


def test_a_mapping_reads_back_as_it_was_given() -> None:
    catches = parse_catches({"reasons": ["unsafe", "unsafe"], "labels": {"pii": [True]}})

    assert catches.to_json() == {"reasons": ["unsafe"], "labels": {"pii": [True]}}
    assert catches.describe() == "reasons: unsafe or pii: true"
