"""The Python client: cost of a `log_interaction` call on the caller's thread, and its throughput.

    .venv/bin/python bench/client.py [--interactions 100000] [--senders 2]

Against gunicorn (2 sync workers) on PostgreSQL (the database `feedbackloop_bench`, recreated):
1. the server's own rate: the same rows posted in batches of 1,000 over 4 connections, as
   bench/ingest.py does;
2. one process logging every row through `Client.log_interaction` as fast as it can, timing each
   call on the caller's thread (building the row dict is outside the timing: an application has
   its fields at hand), then `flush()`: rows/s from the first call until the server stored all.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from feedbackloop_client import Client

from bench._harness import (
    BENCH_DATABASE_URL,
    fresh_database,
    gunicorn,
    interaction,
    manage,
)
from bench.ingest import post_all


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    rng = random.Random(3)
    fresh_database()
    key = manage("createproject", "bench").strip().splitlines()[-1]
    server_rows = [interaction(rng, n, prefix="server") for n in range(args.interactions)]
    client_rows = [interaction(rng, n, prefix="client") for n in range(args.interactions)]
    bodies = [
        json.dumps({"items": server_rows[i : i + args.batch]}).encode()
        for i in range(0, len(server_rows), args.batch)
    ]
    print(
        f"{args.interactions:,} interactions of "
        f"{sum(map(len, bodies)) / args.interactions:,.0f} bytes as JSON; gunicorn 2 workers"
    )

    broker = "redis://127.0.0.1:6379/11"
    with gunicorn(workers=2, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND="") as url:
        post_all(url, key, "/api/v1/interactions", bodies[:2], 4)  # warm-up
        seconds, created = post_all(url, key, "/api/v1/interactions", bodies[2:], 4)
        server_rate = created / seconds
        with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
            conn.execute("ANALYZE annotation_interaction")

        client = Client(url, key, batch_size=args.batch, senders=args.senders)
        calls: list[float] = []
        clock = time.perf_counter_ns
        started = time.perf_counter()
        for row in client_rows:
            before = clock()
            client.log_interaction(**row)
            calls.append((clock() - before) / 1000)
        logging_done = time.perf_counter()
        client.flush()
        elapsed = time.perf_counter() - started
        client.close()
        stats = client.stats.as_dict()

    import redis

    redis.Redis.from_url(broker).flushdb()
    print(f"server, 4 connections: {server_rate:,.0f} interactions/s")
    print(
        f"log_interaction on the caller's thread: mean {sum(calls) / len(calls):.1f} µs, "
        f"p50 {percentile(calls, 0.5):.1f} µs, p95 {percentile(calls, 0.95):.1f} µs, "
        f"p99 {percentile(calls, 0.99):.1f} µs ({len(calls):,} calls in "
        f"{logging_done - started:.2f} s)"
    )
    print(
        f"client, one process, {args.senders} senders: {stats['created'] / elapsed:,.0f} "
        f"interactions/s stored ({stats['created']:,} in {elapsed:.1f} s; "
        f"{stats['requests']} requests, {stats['dropped']} dropped, {stats['failed']} failed)"
    )
    print(f"client / server: {stats['created'] / elapsed / server_rate:.0%}")


if __name__ == "__main__":
    main()
