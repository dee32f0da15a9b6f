"""Ingestion throughput over HTTP against gunicorn on PostgreSQL, beside the raw COPY rate.

    .venv/bin/python bench/ingest.py [--interactions 100000] [--batch 1000] [--connections 4]

Posts interactions (then feedback) of realistic size in batches from this process to gunicorn
(2 sync workers) and prints interactions/s, the raw PostgreSQL COPY rate of the same rows into a
scratch table, and the ratio. Uses (and recreates) the database `feedbackloop_bench`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import (
    BENCH_DATABASE_URL,
    feedback,
    fresh_database,
    gunicorn,
    interaction,
    manage,
)


def post_all(
    url: str, key: str, path: str, bodies: list[bytes], connections: int
) -> tuple[float, int]:
    """POST every body over `connections` keep-alive connections; return (seconds, rows created)."""
    parts = urlsplit(url)
    lock = threading.Lock()
    queue = list(reversed(bodies))
    created = 0
    failures: list[str] = []

    def worker() -> None:
        nonlocal created
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status not in (200, 201):
                failures.append(f"{response.status}: {payload[:300]!r}")
                continue
            with lock:
                created += json.loads(payload)["created"]
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, first: {failures[0]}")
    return elapsed, created


def copy_rate(
    rows: list[dict[str, object]],
    columns: list[tuple[str, str]],
    to_row: Callable[[dict[str, object]], tuple[object, ...]],
) -> float:
    """Rows/s of a raw COPY of the same rows into an unindexed scratch table."""
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        conn.execute("DROP TABLE IF EXISTS copy_scratch")
        conn.execute(
            "CREATE TABLE copy_scratch (" + ", ".join(f"{n} {t}" for n, t in columns) + ")"
        )
        conn.commit()
        names = ", ".join(n for n, _ in columns)
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY copy_scratch ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(to_row(row))
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE copy_scratch")
        conn.commit()
    return len(rows) / elapsed


INTERACTION_COLUMNS = [
    ("project_id", "bigint"),
    ("request_id", "varchar(255)"),
    ("timestamp", "timestamptz"),
    ("model", "varchar(255)"),
    ("model_version", "varchar(255)"),
    ("prompt_template", "varchar(255)"),
    ("prompt_template_version", "varchar(255)"),
    ("messages", "jsonb"),
    ("response", "text"),
    ("retrieved_context", "jsonb"),
    ("user_id", "varchar(64)"),
    ("session_id", "varchar(255)"),
    ("experiment", "varchar(255)"),
    ("variant", "varchar(255)"),
    ("latency_ms", "double precision"),
    ("tokens_in", "integer"),
    ("tokens_out", "integer"),
    ("cost", "double precision"),
    ("metadata", "jsonb"),
    ("received_at", "timestamptz"),
]
FEEDBACK_COLUMNS = [
    ("project_id", "bigint"),
    ("request_id", "varchar(255)"),
    ("kind", "varchar(16)"),
    ("source", "varchar(16)"),
    ("value", "double precision"),
    ("scale", "varchar(16)"),
    ("normalized_score", "double precision"),
    ("labels", "jsonb"),
    ("text", "text"),
    ("event", "varchar(32)"),
    ("user_id", "varchar(64)"),
    ("metadata", "jsonb"),
    ("timestamp", "timestamptz"),
    ("received_at", "timestamptz"),
]
NOW = datetime.now(UTC)


def interaction_row(row: dict[str, object]) -> tuple[object, ...]:
    return (
        1,
        row["request_id"],
        row["timestamp"],
        row["model"],
        row["model_version"],
        row["prompt_template"],
        row["prompt_template_version"],
        json.dumps(row["messages"]),
        row["response"],
        "[]",
        row["user_id"],
        row["session_id"],
        row["experiment"],
        row["variant"],
        row["latency_ms"],
        row["tokens_in"],
        row["tokens_out"],
        row["cost"],
        json.dumps(row["metadata"]),
        NOW,
    )


def feedback_row(row: dict[str, object]) -> tuple[object, ...]:
    return (
        1,
        row["request_id"],
        row["kind"],
        "user",
        row.get("value"),
        row.get("scale", ""),
        None,
        json.dumps(row.get("labels", [])),
        row.get("text", ""),
        row.get("event", ""),
        "",
        "{}",
        NOW,
        NOW,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    rng = random.Random(1)
    fresh_database()
    key = manage("createproject", "bench").strip().splitlines()[-1]
    rows = [interaction(rng, n) for n in range(args.interactions)]
    feedback_rows = [feedback(rng, n) for n in range(args.interactions)]

    def bodies(items: list[dict[str, object]]) -> list[bytes]:
        return [
            json.dumps({"items": items[i : i + args.batch]}).encode()
            for i in range(0, len(items), args.batch)
        ]

    interaction_bodies, feedback_bodies = bodies(rows), bodies(feedback_rows)
    size = sum(map(len, interaction_bodies)) / len(rows)
    print(
        f"{len(rows):,} interactions, {size:,.0f} bytes each as JSON, batches of {args.batch}, "
        f"{args.connections} connections, gunicorn {args.workers} workers"
    )

    # As in production: ingestion queues the checks on a broker (no worker consumes them here).
    broker = "redis://127.0.0.1:6379/11"
    with gunicorn(workers=args.workers, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND="") as url:
        post_all(
            url, key, "/api/v1/interactions", interaction_bodies[:2], args.connections
        )  # warm-up
        seconds, created = post_all(
            url, key, "/api/v1/interactions", interaction_bodies[2:], args.connections
        )
        http_rate = created / seconds
        # What autovacuum does within a minute of a bulk load; without statistics the planner
        # takes the fresh table for empty and scans it to resolve the feedback's request_ids.
        with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
            conn.execute("ANALYZE annotation_interaction")
        fb_seconds, fb_created = post_all(
            url, key, "/api/v1/feedback", feedback_bodies, args.connections
        )
        fb_rate = fb_created / fb_seconds

    import redis

    redis.Redis.from_url(broker).flushdb()
    raw = copy_rate(rows, INTERACTION_COLUMNS, interaction_row)
    fb_raw = copy_rate(feedback_rows, FEEDBACK_COLUMNS, feedback_row)
    print(f"interactions over HTTP: {http_rate:,.0f}/s ({created:,} in {seconds:.1f} s)")
    print(f"raw COPY of the same rows: {raw:,.0f}/s")
    print(f"ratio: {http_rate / raw:.0%} of raw COPY")
    print(f"feedback over HTTP: {fb_rate:,.0f}/s ({fb_created:,} in {fb_seconds:.1f} s)")
    print(f"raw COPY of the same feedback: {fb_raw:,.0f}/s")
    print(f"ratio: {fb_rate / fb_raw:.0%} of raw COPY")


if __name__ == "__main__":
    main()
