"""The explorer's filters by property: on a seeded random dataset, for many seeded random
queries, the explorer's result set equals a plain Python filter over every row. The same tests
run on PostgreSQL (full-text search through the GIN-indexed document) and on SQLite (substring
fallback): run them with and without DATABASE_URL.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from annotation.insights.query import SliceFilter
from annotation.models import (
    Adjudication,
    Annotation,
    Check,
    Feedback,
    Flag,
    Interaction,
    Project,
    Queue,
    QueueItem,
)
from annotation.selectors.explorer import (
    ExplorerQuery,
    explorer_ids,
    explorer_interactions,
    explorer_page,
    explorer_query_parse,
)
from tests.factories import REVIEW_SCHEMA, UserFactory

# No word is a substring of another, nor of the JSON the messages are stored as ("role",
# "content", "user"), so SQLite's substring fallback and PostgreSQL's words agree.
VOCABULARY = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
DIMENSIONS = {
    "model": ["gpt-x", "claude-y"],
    "model_version": ["1.4.0", "1.5.0-rc1", ""],
    "prompt_template": ["support", "sales"],
    "prompt_template_version": ["1", "2"],
    "experiment": ["", "exp-a"],
    "variant": ["", "control", "treatment"],
}
TAXONOMY = [
    {"name": "wrong", "description": "", "negative": True},
    {"name": "rude", "description": "", "negative": True},
    {"name": "great", "description": "", "negative": False},
]
START = datetime(2026, 11, 20, tzinfo=UTC)
SCORES = [0.0, 0.25, 0.4, 0.5, 0.75, 1.0]
STATES = ["open", "in_progress", "done", "skipped"]


@dataclass
class Row:
    pk: int
    timestamp: datetime
    dims: dict[str, str]
    words: set[str]
    metadata: dict[str, Any]
    feedback: list[tuple[str, float | None, list[str]]] = field(default_factory=list)
    flags: list[tuple[str, int, bool]] = field(default_factory=list)
    items: list[tuple[int, str]] = field(default_factory=list)
    reviewed_bad: bool = False


@dataclass
class Dataset:
    project: Project
    rows: list[Row]
    queues: list[Queue]
    checks: list[str]


def build(seed: int = 13, n: int = 150) -> Dataset:
    rng = random.Random(seed)
    project = Project.objects.create(name="explored", taxonomy=TAXONOMY)
    Project.objects.create(name="elsewhere")
    checks = [
        Check.objects.create(project=project, name=name, type="pii", severity=severity)
        for name, severity in (("pii", 20), ("toxicity", 30), ("length", 10))
    ]
    queues = [
        Queue.objects.create(
            project=project, name=f"q{i}", sources=[], schema=REVIEW_SCHEMA, seed=i
        )
        for i in range(2)
    ]
    annotators: list[User] = [UserFactory(), UserFactory()]
    now = timezone.now()
    interactions = []
    rows = []
    for i in range(n):
        dims = {name: rng.choice(values) for name, values in DIMENSIONS.items()}
        response = " ".join(rng.sample(VOCABULARY, rng.randint(0, 3)))
        prompt = " ".join(rng.sample(VOCABULARY, rng.randint(0, 2)))
        metadata: dict[str, Any] = {}
        if rng.random() < 0.7:
            metadata["plan"] = rng.choice(["pro", "free"])
        if rng.random() < 0.5:
            metadata["tier"] = rng.randint(1, 3)
        timestamp = START + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        if rng.random() < 0.1 and interactions:  # ties on timestamp for the keyset
            timestamp = interactions[-1].timestamp
        interactions.append(
            Interaction(
                project=project,
                request_id=f"r-{i}",
                timestamp=timestamp,
                received_at=now,
                messages=[{"role": "user", "content": prompt}],
                response=response,
                metadata=metadata,
                **dims,
            )
        )
        rows.append(
            Row(
                pk=0,
                timestamp=timestamp,
                dims=dims,
                words=set(response.split()) | set(prompt.split()),
                metadata=metadata,
            )
        )
    created = Interaction.objects.bulk_create(interactions)
    for row, interaction in zip(rows, created, strict=True):
        row.pk = interaction.pk
    # A twin in another project: never in any answer.
    Interaction.objects.create(
        project=Project.objects.get(name="elsewhere"),
        request_id="r-0",
        timestamp=START,
        received_at=now,
        response="alpha bravo",
    )
    feedback, flags = [], []
    for row in rows:
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            kind = rng.choice(["rating", "rating", "label", "comment", "implicit"])
            score = rng.choice(SCORES) if kind == "rating" else None
            labels = (
                rng.sample(["wrong", "rude", "great"], rng.randint(1, 2)) if kind == "label" else []
            )
            row.feedback.append((kind, score, labels))
            feedback.append(
                Feedback(
                    project=project,
                    request_id=f"r-{row.pk}",
                    interaction_id=row.pk,
                    kind=kind,
                    normalized_score=score,
                    value=score,
                    scale="thumbs" if kind == "rating" else "",
                    labels=labels,
                    event="abandoned" if kind == "implicit" else "",
                    timestamp=row.timestamp,
                    received_at=now,
                )
            )
        for check in rng.sample(checks, rng.choice([0, 0, 1, 2])):
            flagged = rng.random() < 0.7
            row.flags.append((check.name, check.severity, flagged))
            flags.append(
                Flag(
                    project=project,
                    interaction_id=row.pk,
                    check_config=check,
                    flagged=flagged,
                    severity=check.severity,
                    score=1.0,
                    created_at=now,
                )
            )
    Feedback.objects.bulk_create(feedback)
    Flag.objects.bulk_create(flags)
    for row in rows:
        for queue in rng.sample(queues, rng.choice([0, 0, 1, 2])):
            state = rng.choice(STATES)
            item = QueueItem.objects.create(
                queue=queue,
                interaction_id=row.pk,
                reasons=["random"],
                inclusion_probability=0.5,
                annotations_wanted=2,
                annotations_done=2 if state == "done" else 0,
                state=state,
                created_at=now,
                updated_at=now,
            )
            row.items.append((queue.pk, state))
            if state != "done":
                continue
            verdicts = rng.choice([("good", "good"), ("bad", "bad"), ("good", "bad")])
            for annotator, verdict in zip(annotators, verdicts, strict=True):
                Annotation.objects.create(
                    item=item,
                    annotator=annotator,
                    values={"verdict": verdict},
                    created_at=now,
                    updated_at=now,
                )
            bad = verdicts == ("bad", "bad")
            if verdicts == ("good", "bad") and rng.random() < 0.5:
                lead_verdict = rng.choice(["good", "bad"])
                Adjudication.objects.create(item=item, values={"verdict": lead_verdict})
                bad = lead_verdict == "bad"
            row.reviewed_bad = row.reviewed_bad or bad
    return Dataset(project=project, rows=rows, queues=queues, checks=[c.name for c in checks])


def matches(row: Row, query: ExplorerQuery, negative_labels: set[str]) -> bool:
    """The explorer's filters, spelled out in Python."""
    if query.since and row.timestamp < query.since:
        return False
    if query.until and row.timestamp >= query.until:
        return False
    for dimension, values in query.slices.values.items():
        if row.dims[dimension] not in values:
            return False
    if query.rating_min is not None or query.rating_max is not None:
        low = query.rating_min if query.rating_min is not None else 0.0
        high = query.rating_max if query.rating_max is not None else 1.0
        if not any(
            k == "rating" and s is not None and low <= s <= high for k, s, _ in row.feedback
        ):
            return False
    if query.kinds and not any(k in query.kinds for k, _, _ in row.feedback):
        return False
    if query.reasons and not any(
        k == "label" and set(labels) & set(query.reasons) for k, _, labels in row.feedback
    ):
        return False
    if query.negative and not any(
        (k == "rating" and s is not None and s <= 0.4)
        or (k == "label" and set(labels) & negative_labels)
        for k, s, labels in row.feedback
    ):
        return False
    if (query.flagged or query.min_severity is not None) and not any(
        flagged
        and (not query.flagged or name in query.flagged)
        and (query.min_severity is None or severity >= query.min_severity)
        for name, severity, flagged in row.flags
    ):
        return False
    if (query.queue_id is not None or query.queue_states) and not any(
        (query.queue_id is None or queue_id == query.queue_id)
        and (not query.queue_states or state in query.queue_states)
        for queue_id, state in row.items
    ):
        return False
    for key, value in query.metadata:
        if key not in row.metadata or str(row.metadata[key]) != value:
            return False
    if query.reviewed_bad and not row.reviewed_bad:
        return False
    return all(word in row.words for word in query.text.split())


def random_params(rng: random.Random, data: Dataset) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    choices = [
        "time",
        "dimension",
        "rating",
        "kind",
        "reason",
        "negative",
        "flag",
        "queue",
        "metadata",
        "reviewed_bad",
        "text",
    ]
    for choice in rng.sample(choices, rng.randint(1, 3)):
        if choice == "time":
            since = START + timedelta(hours=rng.randrange(0, 48))
            params["since"] = [since.isoformat()]
            if rng.random() < 0.6:
                params["until"] = [(since + timedelta(hours=rng.randrange(1, 40))).isoformat()]
        elif choice == "dimension":
            name = rng.choice(list(DIMENSIONS))
            values = [v for v in rng.sample(DIMENSIONS[name], rng.randint(1, 2)) if v]
            if values:
                params[name] = [",".join(values)] if rng.random() < 0.5 else values
        elif choice == "rating":
            low, high = sorted(rng.sample(SCORES, 2))
            if rng.random() < 0.5:
                params["rating_min"] = [str(low)]
            params["rating_max"] = [str(high)]
        elif choice == "kind":
            params["kind"] = rng.sample(["rating", "label", "comment", "implicit", "correction"], 1)
        elif choice == "reason":
            params["reason"] = rng.sample(["wrong", "rude", "great"], rng.randint(1, 2))
        elif choice == "negative":
            params["negative"] = ["1"]
        elif choice == "flag":
            if rng.random() < 0.7:
                params["flagged"] = rng.sample(data.checks, rng.randint(1, 2))
            if rng.random() < 0.5 or "flagged" not in params:
                params["min_severity"] = [rng.choice(["info", "warning", "critical"])]
        elif choice == "queue":
            if rng.random() < 0.7:
                params["queue"] = [str(rng.choice(data.queues).pk)]
            if rng.random() < 0.6 or "queue" not in params:
                params["queue_state"] = rng.sample(STATES, rng.randint(1, 2))
        elif choice == "metadata":
            params["metadata"] = [rng.choice(["plan=pro", "plan=free", "tier=2", "tier=3"])]
        elif choice == "reviewed_bad":
            params["reviewed_bad"] = ["1"]
        elif choice == "text":
            params["q"] = [" ".join(rng.sample(VOCABULARY, rng.randint(1, 2)))]
    return params


@pytest.fixture
def data(db: Any) -> Dataset:
    return build()


def test_it_returns_exactly_the_rows_a_python_filter_keeps(data: Dataset) -> None:
    rng = random.Random(2026)
    negative = set(data.project.negative_label_names)
    nonempty = 0
    for _ in range(120):
        params = random_params(rng, data)
        query = explorer_query_parse(params, project=data.project)
        expected = {row.pk for row in data.rows if matches(row, query, negative)}
        found = set(
            explorer_interactions(project=data.project, query=query).values_list("pk", flat=True)
        )
        assert found == expected, (connection.vendor, params)
        nonempty += bool(expected)
    # The queries are not all trivially empty (or the test could not fail).
    assert nonempty >= 50


def test_it_filters_every_dimension_and_the_whole_range_alone(data: Dataset) -> None:
    negative = set(data.project.negative_label_names)
    for name, values in DIMENSIONS.items():
        for value in values:
            if not value:
                continue
            query = ExplorerQuery(slices=SliceFilter(values={name: (value,)}))
            expected = {row.pk for row in data.rows if matches(row, query, negative)}
            found = set(
                explorer_interactions(project=data.project, query=query).values_list(
                    "pk", flat=True
                )
            )
            assert found == expected and found
    everything = explorer_interactions(project=data.project, query=ExplorerQuery())
    assert set(everything.values_list("pk", flat=True)) == {row.pk for row in data.rows}


def test_it_pages_by_keyset_visiting_every_row_once_newest_first(data: Dataset) -> None:
    rng = random.Random(7)
    negative = set(data.project.negative_label_names)
    for params in [{}, *(random_params(rng, data) for _ in range(15))]:
        query = explorer_query_parse(params, project=data.project)
        seen: list[Interaction] = []
        cursor: list[str] = []
        while True:
            page_params = {**params, "after": cursor} if cursor else params
            page = explorer_page(
                project=data.project,
                query=explorer_query_parse(page_params, project=data.project),
                limit=7,
            )
            assert len(page.rows) <= 7
            seen.extend(page.rows)
            if page.next_cursor is None:
                break
            cursor = [page.next_cursor]
        keys = [(row.timestamp, row.pk) for row in seen]
        assert keys == sorted(keys, reverse=True)
        assert len(keys) == len(set(keys))
        assert {row.pk for row in seen} == {
            row.pk for row in data.rows if matches(row, query, negative)
        }


def test_it_selects_all_matching_up_to_the_bound_newest_first(data: Dataset) -> None:
    query = ExplorerQuery(slices=SliceFilter(values={"model": ("gpt-x",)}))
    rows = sorted(
        (row for row in data.rows if row.dims["model"] == "gpt-x"),
        key=lambda row: (row.timestamp, row.pk),
        reverse=True,
    )
    assert explorer_ids(project=data.project, query=query, limit=10) == [r.pk for r in rows[:10]]
    assert len(explorer_ids(project=data.project, query=query)) == len(rows)
