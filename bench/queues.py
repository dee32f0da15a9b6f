"""Review queues at scale on PostgreSQL: fill time over 1M interactions, lease latency over HTTP.

    .venv/bin/python bench/queues.py [--interactions 1000000] [--annotators 20] [--rounds 50]

1. Bulk-loads interactions with COPY (10% with feedback, 5% flagged by the pii or blocklist
   checks; Flag rows written directly), then VACUUM ANALYZE, as autovacuum would after a load.
2. Times the fill of a queue with low_rated + flagged + 1% random (one INSERT … SELECT) on a
   cold cache, then the preview of a second, identical queue, then the fill of a third (warm).
   "Cold" here means: the first read of those candidates since the load (the queue is new, so
   no cached queue definition, and no query has read its candidate rows; only the load's COPY
   and VACUUM ANALYZE touched them), on a fresh PostgreSQL connection reset with `DISCARD ALL`
   (no prepared plans, temp tables or session settings). The operating system's page cache
   cannot be dropped on this machine (and PostgreSQL cannot be restarted to empty its shared
   buffers), so table pages the load left in memory may still be there; at 1,000,000
   interactions (~1.5 GB) most of them are not in shared buffers (128 MB by default). The warm
   fill re-reads the same candidates right after the preview read them.
3. Starts gunicorn and lets `--annotators` threads, each on its own keep-alive connection, call
   POST /queues/{id}/next, spend `--think` seconds on the item (on average; 0 makes a closed loop
   that measures capacity rather than latency), then POST /items/{id}/annotations, `--rounds`
   times; prints latency percentiles and checks that no slot was ever held twice. The server
   uses Redis for its cache and Celery broker (`BENCH_REDIS`, db 14 by default), as deployed.

Uses (and recreates) the database `feedbackloop_bench_queues` (`BENCH_DB` to change it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

# A database of its own, so the other benchmarks can run at the same time.
os.environ.setdefault("BENCH_DB", "feedbackloop_bench_queues")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import (
    BENCH_DATABASE_URL,
    bench_env,
    fresh_database,
    gunicorn,
    text_of,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SCHEMA = {
    "fields": [
        {"name": "verdict", "type": "choice", "options": ["good", "bad"], "required": True},
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "comment", "type": "text"},
    ]
}


def load(conn: psycopg.Connection, project_id: int, count: int) -> dict[str, int]:
    """COPY `count` interactions, their feedback and flags; returns how many of each."""
    rng = random.Random(1)
    prompts = [
        json.dumps(
            [
                {"role": "system", "content": "You are Nimbus, the support assistant."},
                {"role": "user", "content": text_of(rng, 250)},
            ]
        )
        for _ in range(500)
    ]
    responses = [text_of(rng, 800) for _ in range(500)]
    columns = (
        "project_id, request_id, timestamp, model, model_version, prompt_template, "
        "prompt_template_version, messages, response, retrieved_context, user_id, session_id, "
        "experiment, variant, latency_ms, tokens_in, tokens_out, cost, metadata, received_at"
    )
    metadata = [json.dumps({"locale": "en-GB", "channel": c}) for c in ("web", "ios")]
    started = time.perf_counter()
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY annotation_interaction ({columns}) FROM STDIN") as copy,
    ):
        for n in range(count):
            copy.write_row(
                (
                    project_id,
                    f"bench-{n}",
                    NOW - timedelta(seconds=count - n),
                    "nimbus-large",
                    "2026-10-01" if n % 2 else "2026-11-15",
                    "support_answer",
                    "3",
                    prompts[n % 500],
                    responses[(n * 7) % 500],
                    "[]",
                    f"u-{n % 50_000}",
                    f"s-{n % 200_000}",
                    "tone-test",
                    "AB"[n % 2],
                    840.0,
                    312,
                    150,
                    0.001,
                    metadata[n % 2],
                    NOW,
                )
            )
    conn.commit()
    print(f"  {count:,} interactions by COPY in {time.perf_counter() - started:.1f} s")
    first_id = conn.execute(
        "SELECT min(id) FROM annotation_interaction WHERE project_id = %s", [project_id]
    ).fetchone()[0]

    feedback_columns = (
        "project_id, request_id, interaction_id, kind, source, value, scale, normalized_score, "
        "labels, text, event, user_id, metadata, timestamp, received_at"
    )
    feedback = 0
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY annotation_feedback ({feedback_columns}) FROM STDIN") as copy,
    ):
        for n in rng.sample(range(count), count // 10):
            kind = rng.random()
            row: tuple[object, ...]
            base = (project_id, f"bench-{n}", first_id + n)
            if kind < 0.4:
                value = rng.choice([0, 1])
                row = (*base, "rating", "user", value, "thumbs", float(value), "[]", "", "")
            elif kind < 0.6:
                stars = rng.randint(1, 5)
                row = (*base, "rating", "user", stars, "stars5", (stars - 1) / 4, "[]", "", "")
            elif kind < 0.7:
                label = rng.choice(["incorrect", "unhelpful", "unsafe", "off_topic"])
                row = (*base, "label", "user", None, "", None, json.dumps([label]), "", "")
            elif kind < 0.85:
                event = rng.choice(["abandoned", "rephrased", "regenerated"])
                row = (*base, "implicit", "user", None, "", None, "[]", "", event)
            else:
                row = (*base, "implicit", "user", 12.5, "", None, "[]", "", "dwell")
            copy.write_row((*row, "", "{}", NOW, NOW))
            feedback += 1
    checks = dict(
        conn.execute(
            "SELECT name, id FROM annotation_check WHERE project_id = %s", [project_id]
        ).fetchall()
    )
    flags = 0
    with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY annotation_flag (project_id, interaction_id, check_id, flagged, severity, score, "
            "spans, label, rationale, created_at) FROM STDIN"
        ) as copy,
    ):
        for n in rng.sample(range(count), count // 20):
            check = rng.choice(["pii", "blocklist"])
            severity = rng.choice([10, 20, 30])
            copy.write_row(
                (project_id, first_id + n, checks[check], True, severity, 1.0, "[]", "", "", NOW)
            )
            flags += 1
    conn.commit()
    started = time.perf_counter()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE annotation_interaction")
    conn.execute("VACUUM ANALYZE annotation_feedback")
    conn.execute("VACUUM ANALYZE annotation_flag")
    conn.autocommit = False
    print(
        f"  {feedback:,} feedback, {flags:,} flags; VACUUM ANALYZE {time.perf_counter() - started:.1f} s"
    )
    return {"feedback": feedback, "flags": flags}


def _load() -> str:
    """The machine's load average (1, 5, 15 minutes): other work shares its two cores."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def annotate_over_http(
    url: str, queue_id: int, tokens: list[str], rounds: int, overlap: int, think: float
) -> dict[str, list[float]]:
    parts = urlsplit(url)
    lock = threading.Lock()
    holders: dict[int, set[int]] = defaultdict(set)
    timings: dict[str, list[float]] = {"next": [], "submit": [], "pair": []}
    problems: list[str] = []
    double = 0

    def worker(index: int, token: str) -> None:
        nonlocal double
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        body = json.dumps({"values": {"verdict": "bad", "reasons": ["incorrect"]}})
        rng = random.Random(index)
        for _ in range(rounds):
            started = time.perf_counter()
            conn.request("POST", f"/api/v1/queues/{queue_id}/next", body=b"", headers=headers)
            response = conn.getresponse()
            payload = response.read()
            leased = time.perf_counter()
            if response.status == 204:
                break
            if response.status != 200:
                problems.append(f"next {response.status}: {payload[:200]!r}")
                break
            item_id = json.loads(payload)["item"]["id"]
            with lock:
                if index in holders[item_id] or len(holders[item_id]) >= overlap:
                    double += 1
                holders[item_id].add(index)
            if think:
                # Reading and labelling: uniformly 0.5-1.5 x `think` seconds.
                time.sleep(think * (0.5 + rng.random()))
            with lock:
                holders[item_id].discard(index)
            before = time.perf_counter()
            conn.request("POST", f"/api/v1/items/{item_id}/annotations", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            done = time.perf_counter()
            if response.status != 201:
                problems.append(f"submit {response.status}: {payload[:200]!r}")
                break
            with lock:
                timings["next"].append(leased - started)
                timings["submit"].append(done - before)
                timings["pair"].append((leased - started) + (done - before))
        conn.close()

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tokens)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if problems:
        raise SystemExit(f"{len(problems)} requests failed, first: {problems[0]}")
    pairs = len(timings["pair"])
    print(f"  {pairs:,} next+submit pairs in {elapsed:.1f} s ({pairs / elapsed:,.0f} pairs/s)")
    print(f"  double leases seen by the clients: {double}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="Mean seconds an annotator spends between next and submit; 0 for a closed loop.",
    )
    args = parser.parse_args()

    fresh_database()
    os.environ.update(bench_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "feedbackloop.settings")
    import django

    django.setup()
    from django.db import connection

    from annotation.models import Annotation, QueueItem
    from annotation.selectors.sampling import queue_sample_preview
    from annotation.services.projects import member_upsert, project_create
    from annotation.services.queues import queue_create, queue_fill_now

    project = project_create(name="bench").obj.project
    lead = member_upsert(username="lead", project=project, role="lead").obj.user
    people = [
        member_upsert(username=f"ann{n}", project=project, role="annotator")
        for n in range(args.annotators)
    ]
    print(f"Loading {args.interactions:,} interactions")
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        load(conn, project.pk, args.interactions)

    sources = [
        {"type": "low_rated", "threshold": 0.4},
        {"type": "flagged", "checks": ["pii", "blocklist"], "min_severity": "warning"},
        {"type": "random", "rate": 0.01, "seed": 7},
    ]
    queue = queue_create(
        project=project,
        name="weekly",
        sources=sources,
        schema=SCHEMA,
        overlap=args.overlap,
        capacity=1_000_000,
        created_by=lead,
        annotators=[p.obj.user for p in people],
    )
    twin = queue_create(
        project=project, name="twin", sources=sources, schema=SCHEMA, capacity=1_000_000
    )
    warm = queue_create(
        project=project, name="warm", sources=sources, schema=SCHEMA, capacity=1_000_000
    )
    connection.close()  # a fresh backend for the cold fill
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")
    started = time.perf_counter()
    fill = queue_fill_now(queue=queue)
    fill_seconds = time.perf_counter() - started
    started = time.perf_counter()
    preview = queue_sample_preview(queue=twin)
    preview_seconds = time.perf_counter() - started
    started = time.perf_counter()
    warm_fill = queue_fill_now(queue=warm)
    warm_seconds = time.perf_counter() - started
    print(
        f"fill, cold (low_rated + flagged + 1% random over {args.interactions:,}): "
        f"{fill_seconds:.2f} s, {fill.added:,} items, by reason {fill.by_reason}"
    )
    print(
        f"preview of the same sources: {preview_seconds:.2f} s, {preview.candidates:,} candidates"
    )
    print(f"fill, warm (a third queue, same sources): {warm_seconds:.2f} s, {warm_fill.added:,}")
    refill_started = time.perf_counter()
    again = queue_fill_now(queue=queue)
    print(
        f"refill (nothing new): {time.perf_counter() - refill_started:.2f} s, {again.added} added"
    )
    connection.close()

    def report(timings: dict[str, list[float]]) -> None:
        for name in ("next", "submit", "pair"):
            values = [v * 1000 for v in timings[name]]
            print(
                f"  {name:>6}: p50 {statistics.median(values):6.1f} ms   "
                f"p95 {percentile(values, 0.95):6.1f} ms   p99 {percentile(values, 0.99):6.1f} ms"
            )

    # As in production: the Django cache (the per-queue definitions) and the Celery broker on
    # Redis, so a submit that finishes an item only queues its rollup rebuild.
    redis = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
    served = {
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "CELERY_RESULT_BACKEND": redis,
        # Plain HTTP on 127.0.0.1 (TLS ends in front of gunicorn in production).
        "SECURE_SSL_REDIRECT": "false",
    }
    print(f"load average before the HTTP runs: {_load()}")
    with gunicorn(workers=args.workers, threads=args.threads, **served) as url:
        tokens = [p.secret for p in people]
        annotate_over_http(url, queue.pk, tokens[:2], 5, args.overlap, 0)  # warm-up
        print("One annotator alone, no time on the item: the service time")
        report(annotate_over_http(url, queue.pk, tokens[-1:], args.rounds, args.overlap, 0))
        print(
            f"HTTP: {args.annotators} annotators x {args.rounds} rounds of next, "
            f"~{args.think:g} s of work, submit; gunicorn {args.workers} workers x "
            f"{args.threads} threads"
        )
        report(annotate_over_http(url, queue.pk, tokens, args.rounds, args.overlap, args.think))
        print(f"  load average: {_load()}")
        print(f"Closed loop (no time on the item), {args.annotators} annotators: capacity")
        report(annotate_over_http(url, queue.pk, tokens, args.rounds, args.overlap, 0))
        print(f"  load average: {_load()}")
    over = (
        QueueItem.objects.filter(queue=queue, annotations_done__gt=args.overlap).count()
        + Annotation.objects.filter(item__queue=queue)
        .values("item", "annotator")
        .order_by()
        .annotate(n=django.db.models.Count("id"))
        .filter(n__gt=1)
        .count()
    )
    print(f"  items over their overlap or annotated twice by one person: {over}")


if __name__ == "__main__":
    main()
