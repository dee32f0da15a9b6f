"""Pages and APIs that leads poll read the queues' counters, not every item and annotation.

For each, a queue with a few items and one with many more (and their annotations) cost the same
number of queries, and no query aggregates over the queue's items or reads all its annotations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.models import Annotation, Project, Queue
from annotation.models.review import ItemState
from tests.conftest import Persona
from tests.factories import FlagFactory, InteractionFactory, QueueItemFactory
from tests.review.conftest import make_queue

ITEMS = re.compile(r'FROM "?annotation_queueitem"?\b', re.IGNORECASE)
NOTES = re.compile(r'FROM "?annotation_annotation"?\b', re.IGNORECASE)


def _grow(queue: Queue, people: list[Persona], count: int) -> None:
    """`count` more done items, each answered by every persona and flagged by pii."""
    pii = queue.project.checks.get(name="pii")
    now = timezone.now()
    for _ in range(count):
        item = QueueItemFactory(
            queue=queue,
            interaction=InteractionFactory(project=queue.project),
            state=ItemState.DONE,
            annotations_done=len(people),
            annotations_wanted=len(people),
        )
        for persona in people:
            Annotation.objects.create(
                item=item,
                annotator=persona.user,
                values={"verdict": "bad", "reasons": ["unsafe"]},
                seconds=20.0,
                created_at=now,
                updated_at=now,
            )
        FlagFactory(check_config=pii, interaction=item.interaction)


def _scans(sql: str) -> bool:
    """Whether a statement reads a queue's items or annotations without a bound."""
    lowered = sql.lower()
    if ITEMS.search(sql) and ("count(" in lowered or "group by" in lowered):
        return True
    return bool(NOTES.search(sql) and "limit" not in lowered and "created_at" not in lowered)


def _page(persona: Persona, url: str, *, htmx: bool = False) -> Callable[[], Any]:
    client = Client()
    client.force_login(persona.user)
    headers = {"HX-Request": "true"} if htmx else {}
    return lambda: client.get(url, headers=headers)


def _api(persona: Persona, url: str) -> Callable[[], Any]:
    client = persona.client()
    return lambda: client.get(url)


def _reads(request: Callable[[], Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200, response.content[:300]
    return [q["sql"] for q in captured.captured_queries]


READS = {
    "stats API": lambda lead, q: _api(lead, f"/api/v1/queues/{q.pk}/stats"),
    "lead hub": lambda lead, q: _page(lead, "/lead/"),
    "queues API": lambda lead, q: _api(lead, "/api/v1/queues"),
}


@pytest.mark.parametrize("name", list(READS))
def test_polled_reads_cost_the_same_for_a_small_and_a_large_queue(
    name: str, project: Project, lead: Persona, annotator: Persona, other_annotator: Persona
) -> None:
    people = [annotator, other_annotator]
    queue = make_queue(project, people, name="Bounded", overlap=2)
    _grow(queue, people, 2)
    request = READS[name](lead, queue)
    request()  # warms the session and caches, as a page polled every 10 s is
    small = _reads(request)
    _grow(queue, people, 30)

    large = _reads(request)

    assert len(large) == len(small), "\n".join(large)
    assert [sql for sql in large if _scans(sql)] == []


@pytest.mark.parametrize("htmx", [False, True])
def test_the_progress_page_counts_items_from_the_counters(
    htmx: bool, project: Project, lead: Persona, annotator: Persona, other_annotator: Persona
) -> None:
    """The page's counts and pace are bounded reads; its annotator-quality panel reads the
    queue's latest answers itself (at most 50,000, cached while they are unchanged)."""
    people = [annotator, other_annotator]
    queue = make_queue(project, people, name="Polled", overlap=2)
    _grow(queue, people, 2)
    request = _page(lead, f"/lead/queues/{queue.pk}/progress", htmx=htmx)
    request()
    _grow(queue, people, 30)

    reads = _reads(request)

    lowered = [sql.lower() for sql in reads]
    assert not [sql for sql in lowered if ITEMS.search(sql) and "group by" in sql]
    assert any("annotation_queuecounter" in sql for sql in lowered)
    assert not [sql for sql in reads if ITEMS.search(sql) and "count(" in sql.lower()]


def test_the_progress_reads_its_counts_from_the_counters(
    project: Project, lead: Persona, annotator: Persona, other_annotator: Persona
) -> None:
    people = [annotator, other_annotator]
    queue = make_queue(project, people, name="Counted", overlap=2)
    _grow(queue, people, 4)

    stats = lead.client().get(f"/api/v1/queues/{queue.pk}/stats").json()

    assert stats["total"] == 4 and stats["by_state"][ItemState.DONE] == 4
    assert stats["annotations"] == 8
    assert {row["username"]: row["done"] for row in stats["annotators"]} == {
        "annotator": 4,
        "other_annotator": 4,
    }
    assert stats["median_seconds"] == 20.0
    assert stats["throughput_per_hour"] == 8


def test_a_guard_report_is_computed_in_a_fixed_number_of_queries(
    project: Project, lead: Persona, annotator: Persona, other_annotator: Persona
) -> None:
    people = [annotator, other_annotator]
    queue = make_queue(project, people, name="Guarded", overlap=2)
    pii = project.checks.get(name="pii")
    url = f"/api/v1/checks/{pii.pk}/report?queue={queue.pk}"
    _grow(queue, people, 2)
    request = _api(lead, url)
    request()  # the token's first use is stamped once
    cache.clear()
    small = _reads(request)
    _grow(queue, people, 30)

    large = _reads(request)  # the queue changed: computed again, with as many queries
    warm = _reads(request)  # unchanged: from the cache, reading the counters only

    assert len(large) == len(small)
    assert len(warm) < len(large)
    assert not [sql for sql in warm if ITEMS.search(sql) or NOTES.search(sql)]
