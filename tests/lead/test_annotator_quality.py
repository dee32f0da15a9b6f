"""Per-annotator quality on the progress page: agreement with the others and with the lead's
adjudications, with sample sizes and 95% Wilson intervals, checked against statsmodels and a
seeded simulation."""

from __future__ import annotations

import random

import pytest
from statsmodels.stats.proportion import proportion_confint

from annotation.models import Adjudication, Project, Queue, Role
from annotation.models.review import ItemState
from annotation.review.annotator_quality import annotator_quality
from annotation.selectors.annotator_quality import queue_quality
from tests.agreement.conftest import annotate
from tests.conftest import Persona, _persona
from tests.factories import InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue
from tests.workspace.conftest import browser


def test_counts_and_intervals_match_statsmodels() -> None:
    answers = {
        1: {"ann": "good", "bob": "good"},
        2: {"ann": "good", "bob": "bad"},
        3: {"ann": "bad", "bob": "bad", "cy": "good"},
        4: {"ann": "good"},
    }
    adjudicated = {2: "bad", 3: "bad"}

    rows = {row.annotator: row for row in annotator_quality(answers, adjudicated)}

    ann = rows["ann"]
    assert ann.answered == 4
    # Pairs: item 1 (bob, agrees), 2 (bob, no), 3 (bob yes, cy no): 2 of 4, from 3 items.
    assert (ann.with_others.agreed, ann.with_others.n, ann.compared_items) == (2, 4, 3)
    assert (ann.with_adjudications.agreed, ann.with_adjudications.n) == (1, 2)
    assert rows["cy"].with_others.agreed == 0 and rows["cy"].with_adjudications.n == 1
    for rate in (ann.with_others, ann.with_adjudications, rows["bob"].with_others):
        low, high = proportion_confint(rate.agreed, rate.n, alpha=0.05, method="wilson")
        assert rate.interval == pytest.approx((low, high), abs=1e-9)
    assert annotator_quality({}, {}) == []


def test_a_seeded_simulation_recovers_each_annotators_agreement_within_its_interval() -> None:
    """Annotators who give the true label with known accuracies, overlap 2: each one's expected
    agreement with a partner is p_a·p_b + (1-p_a)(1-p_b) averaged over partners; the 95%
    intervals cover it in about 95% of repeated queues."""
    accuracy = {"a1": 0.95, "a2": 0.85, "a3": 0.7}
    names = sorted(accuracy)
    rng = random.Random(20261202)
    covered = trials = 0
    for _ in range(200):
        answers: dict[int, dict[str, str]] = {}
        truth: dict[int, str] = {}
        for item in range(120):
            pair = rng.sample(names, 2)
            truth[item] = rng.choice(["good", "bad"])
            answers[item] = {
                name: truth[item]
                if rng.random() < accuracy[name]
                else ("bad" if truth[item] == "good" else "good")
                for name in pair
            }
        # The lead adjudicates every tenth item, rightly.
        adjudicated = {item: truth[item] for item in range(0, 120, 10)}
        for row in annotator_quality(answers, adjudicated):
            p = accuracy[row.annotator]
            partners = [accuracy[n] for n in names if n != row.annotator]
            expected = sum(p * q + (1 - p) * (1 - q) for q in partners) / len(partners)
            assert row.with_others.interval is not None
            low, high = row.with_others.interval
            covered += low <= expected <= high
            trials += 1
    assert 0.92 <= covered / trials <= 0.98


def test_the_progress_page_shows_quality_with_sample_sizes(
    project: Project, lead: Persona, annotator: Persona
) -> None:
    second = _persona(project, "second", Role.ANNOTATOR)
    queue: Queue = make_queue(project, [annotator, second], name="Pairs", overlap=2)
    for n, (mine, theirs) in enumerate([("good", "good"), ("good", "bad"), ("bad", "bad")]):
        item = QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(project=project),
            state=ItemState.DONE,
            annotations_done=2,
        )
        annotate(item, annotator, {"verdict": mine})
        annotate(item, second, {"verdict": theirs})
        if n == 1:
            Adjudication.objects.create(item=item, lead=lead.user, values={"verdict": "bad"})

    quality = queue_quality(queue)
    html = browser(lead).get(f"/lead/queues/{queue.pk}/progress").content.decode()

    assert quality.field == "verdict"
    row = html[html.index('data-quality="annotator"') :]
    row = row[: row.index("</tr>")]
    assert '<td data-col="others">67%</td>' in row
    low, high = proportion_confint(2, 3, method="wilson")
    assert f'<td data-col="others-ci">{low:.2f}\u2013{high:.2f}</td>' in row
    assert '<td data-col="others-n">3 (3)</td>' in row
    assert '<td data-col="adjudications">0%</td>' in row
    assert '<td data-col="adjudications-n">1</td>' in row
    assert 'data-quality="second"' in html


def test_it_is_computed_again_only_when_answers_change(
    project: Project, lead: Persona, annotator: Persona
) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    second = _persona(project, "second", Role.ANNOTATOR)
    queue: Queue = make_queue(project, [annotator, second], name="Cached", overlap=2)
    item = QueueItemFactory(queue=queue, interaction=InteractionFactory(project=project))
    annotate(item, annotator, {"verdict": "good"})
    annotate(item, second, {"verdict": "good"})
    first = queue_quality(queue)

    with CaptureQueriesContext(connection) as again:
        assert queue_quality(queue) == first
    other = QueueItemFactory(queue=queue, interaction=InteractionFactory(project=project))
    annotate(other, annotator, {"verdict": "good"})
    annotate(other, second, {"verdict": "bad"})
    changed = {row.annotator: row for row in queue_quality(queue).annotators}

    assert len(again) == 2  # the two signatures, not the answers
    assert (changed["annotator"].with_others.agreed, changed["annotator"].with_others.n) == (1, 2)
    cache.clear()
