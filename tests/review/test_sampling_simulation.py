"""A seeded simulation with known truth: a capacity-limited queue over a population whose bad
rate is higher among flagged and low-rated interactions, reviewed without error, must give a
weighted bad rate whose 95% interval covers the population's true rate in at least 90% of runs.

The population is fixed (design-based inference); each run is a new queue with its own seed, so
its source draws and its capacity subsample are new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Check, Feedback, Flag, Interaction, Project, Queue, QueueItem
from annotation.sampling.estimates import hajek_proportion
from annotation.services.queues import queue_fill_now
from tests.conftest import Persona
from tests.factories import REVIEW_SCHEMA
from tests.review.conftest import make_queue

POPULATION = 2_000
RUNS = 200
SOURCES = [
    {"type": "flagged"},
    {"type": "low_rated", "rate": 0.5},
    {"type": "random", "rate": 0.1},
]


@dataclass(frozen=True)
class Population:
    bad: dict[int, bool]

    @property
    def rate(self) -> float:
        return sum(self.bad.values()) / len(self.bad)


def build_population(project: Project, pii: Check) -> Population:
    rng = np.random.default_rng(20261202)
    flagged = rng.random(POPULATION) < 0.12
    low = rng.random(POPULATION) < 0.15
    bad = rng.random(POPULATION) < np.minimum(0.04 + 0.5 * flagged + 0.3 * low, 0.95)
    now = timezone.now()
    interactions = Interaction.objects.bulk_create(
        [
            Interaction(
                project=project, request_id=f"sim-{n}", timestamp=now, received_at=now, messages=[]
            )
            for n in range(POPULATION)
        ]
    )
    ids = [i.pk for i in interactions]
    if ids[0] is None:  # backends that do not return ids from a bulk insert
        ids = list(
            Interaction.objects.filter(project=project, request_id__startswith="sim-")
            .order_by("id")
            .values_list("id", flat=True)
        )
    Feedback.objects.bulk_create(
        [
            Feedback(
                project=project,
                interaction_id=ids[n],
                request_id=f"sim-{n}",
                kind="rating",
                value=1,
                scale="stars5",
                normalized_score=0.0,
                timestamp=now,
                received_at=now,
            )
            for n in np.flatnonzero(low)
        ]
    )
    Flag.objects.bulk_create(
        [
            Flag(
                project=project,
                interaction_id=ids[n],
                check_config=pii,
                flagged=True,
                severity=pii.severity,
                score=1.0,
                created_at=now,
            )
            for n in np.flatnonzero(flagged)
        ]
    )
    if connection.vendor == "postgresql":
        # Statistics, as autovacuum would gather them after a load this size; without them the
        # planner guesses one row per table and probes interactions by the wrong index.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE annotation_interaction, annotation_feedback, annotation_flag")
    return Population(bad={ids[n]: bool(bad[n]) for n in range(POPULATION)})


def coverage(
    project: Project, population: Population, scenario: str, **queue: Any
) -> tuple[float, float, dict[str, dict[str, int]]]:
    """Share of runs whose interval covers the true rate, with the capacity-aware
    probabilities and with the sources' part alone (what was recorded before strata)."""
    covered = covered_by_sources = 0
    strata: dict[str, dict[str, int]] = {}
    for run in range(RUNS):
        # Saved directly: the definition is the same every run but for the seed, and validating
        # it 200 times would double the test's time.
        target = Queue.objects.create(
            project=project, name=f"{scenario}-{run}", seed=run, schema=REVIEW_SCHEMA, **queue
        )
        fill = queue_fill_now(queue=target)
        assert fill.room > 0 and fill.added == fill.room  # capacity cut every run
        strata = fill.strata
        rows = np.array(
            QueueItem.objects.filter(fill=fill).values_list(
                "interaction_id", "inclusion_probability", "source_probability"
            )
        )
        y = np.array([population.bad[int(i)] for i in rows[:, 0]], dtype=float)
        estimate = hajek_proportion(y, rows[:, 1])
        covered += estimate.low <= population.rate <= estimate.high
        naive = hajek_proportion(y, rows[:, 2])
        covered_by_sources += naive.low <= population.rate <= naive.high
    return covered / RUNS, covered_by_sources / RUNS, strata


@pytest.fixture
def population(project: Project) -> Population:
    pii, _ = Check.objects.update_or_create(
        project=project, name="pii", defaults={"type": "pii", "severity": 30}
    )
    return build_population(project, pii)


@pytest.mark.parametrize(
    ("scenario", "queue", "cut"),
    [
        # Flagged and low-rated whole, then part of the random stratum.
        ("random-cut", {"capacity": 450}, "random"),
        # Random first, then part of the flagged; the low-rated-only stratum gets nothing.
        ("flagged-cut", {"capacity": 300, "priority": ["random", "flagged"]}, "flagged"),
    ],
)
def test_the_weighted_bad_rate_covers_the_true_rate_when_capacity_cuts(
    project: Project,
    annotator: Persona,
    population: Population,
    scenario: str,
    queue: dict[str, Any],
    cut: str,
) -> None:
    make_queue(project, [annotator], name="definition-check", sources=SOURCES, **queue)
    covered, covered_by_sources, strata = coverage(
        project, population, scenario, sources=SOURCES, **queue
    )

    print(f"{scenario}: coverage {covered:.3f}, sources' part alone {covered_by_sources:.3f}")
    assert 0 < strata[cut]["taken"] < strata[cut]["candidates"]
    assert covered >= 0.90
    # The probabilities recorded before strata (capacity ignored) were biased.
    assert covered_by_sources < 0.5
