"""Server time of the annotator's workspace with a 100,000-item queue on PostgreSQL.

    .venv/bin/python bench/workspace.py [--items 100000] [--requests 500]

Loads interactions (with feedback and flags) by COPY, puts them all in one queue, then times, in
the Django process itself (middleware, services, queries and template rendering; no network):

- opening the workspace and taking an item: the htmx POST /queues/{id}/work the page sends on
  load (a GET never leases), made by an annotator who holds no lease, so every timed request
  leases a new item. Each of the `--requests` requests comes from its own annotator (all
  assigned to the queue), the only way to hold nothing without also leasing the next item
  (submit and skip both lease the next one);
- the full page (GET /queues/{id}/work) of an annotator who holds an item: it shows the item
  and leases nothing;
- the submit-and-next swap: an htmx POST that stores the annotation, leases the next item and
  renders the partial, with the annotator's counter (done today, left in the queue, their share)
  and the link to their previous item; the counter's queries are also timed alone
  (`annotator_progress`), and the queries of one swap are counted.

After each timed request the lease count (rows in the lease table) is checked to have grown by
exactly one for the leasing requests and by none for the page, and the annotation count by one
per submit; the totals are printed. Prints p50/p95 of each.
Uses (and recreates) the database `feedbackloop_bench` (`BENCH_DB` to change it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import BENCH_DATABASE_URL, bench_env, fresh_database
from bench.queues import load

SCHEMA = {
    "fields": [
        {"name": "verdict", "type": "choice", "options": ["good", "bad"], "required": True},
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "rating", "type": "likert", "min": 1, "max": 5},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
    ]
}


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--annotators", type=int, default=5)
    parser.add_argument(
        "--embedded", action="store_true", help="no Redis: eager Celery, as `make demo` runs"
    )
    args = parser.parse_args()

    fresh_database()
    # As deployed: Redis for the cache and the Celery broker (no worker needs to run: a submit
    # only marks rollup hours dirty for the beat task). Without a broker, the embedded default
    # refreshes the rollups inline on every submit, which is what `--embedded` times.
    production = (
        {}
        if args.embedded
        else {
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
            "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13"),
        }
    )
    os.environ.update(
        bench_env(ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="false", **production)
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "feedbackloop.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from annotation.models import Annotation, Lease
    from annotation.selectors.annotator_progress import annotator_progress
    from annotation.services.guidelines import guideline_publish
    from annotation.services.projects import member_upsert, project_create
    from annotation.services.queues import queue_create

    project = project_create(name="bench").obj.project
    people = [
        member_upsert(username=f"ann{n}", project=project, role="annotator").obj.user
        for n in range(args.annotators)
    ]
    openers = [
        member_upsert(username=f"opener{n}", project=project, role="annotator").obj.user
        for n in range(args.requests)
    ]
    guideline_publish(
        project=project, text="# Review\n\n" + "Judge the answer against the question.\n\n" * 30
    )
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        load(conn, project.pk, args.items)
    queue = queue_create(
        project=project,
        name="big",
        sources=[{"type": "random", "rate": 1.0, "seed": 1}],
        schema=SCHEMA,
        overlap=1,
        capacity=1_000_000,
        annotators=[*people, *openers],
    )
    now = timezone.now()
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        conn.execute(
            "INSERT INTO annotation_queueitem (queue_id, interaction_id, reasons, inclusion_probability,"
            " priority, state, annotations_wanted, annotations_done, leases_active, skips, created_at,"
            " updated_at) SELECT %s, id, '[\"random\"]', 1.0, 0, 'open', 1, 0, 0, 0, %s, %s"
            " FROM annotation_interaction WHERE project_id = %s",
            [queue.pk, now, now, project.pk],
        )
        items = conn.execute("SELECT count(*) FROM annotation_queueitem").fetchone()[0]
    with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"queue of {items:,} items; {args.annotators} annotators; {args.requests} requests each")

    page = f"/queues/{queue.pk}/work"

    def leases() -> int:
        return Lease.objects.filter(item__queue=queue).count()

    clients = []
    for person in people:
        client = Client()
        client.force_login(person)
        clients.append(client)
    for client in clients:  # warm-up: every annotator opens the page and takes an item
        client.get(page)
        client.post(page, HTTP_HX_REQUEST="true")

    lease_times: list[float] = []
    leased_items: set[int] = set()
    before_all = leases()
    for person in openers:
        client = Client()
        client.force_login(person)
        before = leases()
        started = time.perf_counter()
        response = client.post(page, HTTP_HX_REQUEST="true")
        lease_times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        assert leases() == before + 1, (before, leases())
        body = response.content.decode()
        marker = body.index('aria-label="Item ') + len('aria-label="Item ')
        leased_items.add(int(body[marker : body.index('"', marker)]))
    lease_growth = leases() - before_all
    assert lease_growth == args.requests == len(leased_items)

    page_times: list[float] = []
    before = leases()
    for n in range(args.requests):
        started = time.perf_counter()
        response = clients[n % len(clients)].get(page)
        page_times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    assert leases() == before, "the page GET took an item"

    swap_times: list[float] = []
    before_swaps = leases()
    for n in range(args.requests):
        client = clients[n % len(clients)]
        held = client.get(page, HTTP_HX_REQUEST="true").content.decode()
        marker = held.index('aria-label="Item ') + len('aria-label="Item ')
        item = int(held[marker : held.index('"', marker)])
        started = time.perf_counter()
        response = client.post(
            f"/queues/{queue.pk}/items/{item}/submit",
            {"verdict": "bad", "reasons": ["incorrect"], "rating": "2", "comment": "bench"},
            HTTP_HX_REQUEST="true",
        )
        swap_times.append((time.perf_counter() - started) * 1000)
        assert b"Saved." in response.content and b"data-progress" in response.content
    swap_growth = leases() - before_swaps

    counter_times: list[float] = []
    for n in range(args.requests):
        started = time.perf_counter()
        annotator_progress(queue, people[n % len(people)])
        counter_times.append((time.perf_counter() - started) * 1000)
    client = clients[0]
    held = client.get(page, HTTP_HX_REQUEST="true").content.decode()
    marker = held.index('aria-label="Item ') + len('aria-label="Item ')
    item = int(held[marker : held.index('"', marker)])
    with CaptureQueriesContext(connection) as queries:
        client.post(
            f"/queues/{queue.pk}/items/{item}/submit",
            {"verdict": "good"},
            HTTP_HX_REQUEST="true",
        )

    if os.environ.get("BENCH_SHOW_QUERIES"):
        for query in queries.captured_queries:
            print("   ", query["sql"][:160])
    assert Annotation.objects.count() == args.requests + 1
    assert swap_growth == args.requests, swap_growth
    print(
        f"open the workspace and lease a new item (htmx POST, a fresh annotator each): "
        f"{percentiles(lease_times)}; leases +{lease_growth} for {args.requests} requests, "
        f"{len(leased_items)} distinct items"
    )
    print(f"workspace page (full GET, item already held, leases +0): {percentiles(page_times)}")
    print(
        f"submit and next (htmx swap, with the counter): {percentiles(swap_times)}; "
        f"leases +{swap_growth}, annotations +{args.requests}; {len(queries)} queries per swap"
    )
    print(f"the counter alone (done today, left, share): {percentiles(counter_times)}")


if __name__ == "__main__":
    main()
