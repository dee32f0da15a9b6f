"""Rule-check throughput in a real Celery worker on PostgreSQL.

    .venv/bin/python bench/checks.py [--interactions 100000] [--batch 1000]

Bulk-loads interactions of realistic size (~300-char prompt, ~800-char response, about 5% with
personal data, secrets, insults or refusals) into the scratch database `feedbackloop_bench`,
starts one Celery worker process with the solo pool (one core), queues the project's default rule
checks (PII, blocklist, format) in batches, and prints interactions/s per core from the first task
sent to the last interaction checked, with the number flagged and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._harness import (
    BENCH_DATABASE_URL,
    bench_env,
    celery_worker,
    fresh_database,
    manage,
    peak_rss_mb,
    text_of,
)
from bench.checks_detectors import build

BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")


def load(count: int, project_id: int) -> None:
    rng = random.Random(3)
    responses = build(count, seed=11)
    now = datetime.now(UTC)
    columns = "project_id, request_id, timestamp, model, model_version, prompt_template, prompt_template_version, messages, response, retrieved_context, user_id, session_id, experiment, variant, metadata, received_at"
    with psycopg.connect(BENCH_DATABASE_URL) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY annotation_interaction ({columns}) FROM STDIN") as copy:
            for n, response in enumerate(responses):
                messages = [{"role": "user", "content": text_of(rng, 300)}]
                copy.write_row(
                    (
                        project_id,
                        f"chk-{n}",
                        now,
                        "m",
                        "v1",
                        "support_answer",
                        "3",
                        json.dumps(messages),
                        response,
                        "[]",
                        "",
                        "",
                        "",
                        "",
                        "{}",
                        now,
                    )
                )
        conn.commit()
        cursor.execute("ANALYZE annotation_interaction")
        conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    fresh_database()
    manage("createproject", "bench")
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        project_id = conn.execute(
            "SELECT id FROM annotation_project WHERE name = 'bench'"
        ).fetchone()[0]
    load(args.interactions, project_id)
    average = 0.0
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        average = conn.execute(
            "SELECT avg(length(response)) FROM annotation_interaction"
        ).fetchone()[0]
    print(f"{args.interactions:,} interactions loaded (responses {average:.0f} chars on average)")

    env = bench_env(CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND="")
    with celery_worker("checks", env) as worker:
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "feedbackloop.settings"
        import django

        django.setup()
        from annotation.tasks.checks import run_checks_by_id

        with psycopg.connect(BENCH_DATABASE_URL) as conn:
            ids = [
                pk for (pk,) in conn.execute("SELECT id FROM annotation_interaction ORDER BY id")
            ]
        started = time.perf_counter()
        for start in range(0, len(ids), args.batch):
            run_checks_by_id.delay(project_id, ids[start : start + args.batch])
        with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
            while conn.execute(
                "SELECT count(*) FROM annotation_interaction WHERE checked_at IS NULL"
            ).fetchone()[0]:
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            flagged = conn.execute(
                "SELECT count(DISTINCT interaction_id) FROM annotation_flag"
            ).fetchone()[0]
            by_check = conn.execute(
                "SELECT c.name, count(*) FROM annotation_flag f JOIN annotation_check c ON c.id = f.check_id GROUP BY 1 ORDER BY 1"
            ).fetchall()
        rss = peak_rss_mb(worker.pid)
    print(
        f"rule checks (pii, blocklist, format) in one solo worker: {len(ids) / elapsed:,.0f} interactions/s per core "
        f"({len(ids):,} in {elapsed:.1f} s)"
    )
    print(
        f"flagged interactions: {flagged:,} ({', '.join(f'{name} {count:,}' for name, count in by_check)})"
    )
    print(f"worker peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
