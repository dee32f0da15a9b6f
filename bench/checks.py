"""Rule-check throughput in a real Celery worker on PostgreSQL.

    .venv/bin/python bench/checks.py [--interactions 100000] [--batch 1000]

Bulk-loads interactions of realistic size (~300-char prompt, ~800-char response, about 5% with
personal data, secrets, insults or refusals) into the scratch database `feedbackloop_bench`
(`BENCH_DB` to change it), starts one Celery worker process with the solo pool (one core) on the
`checks` queue, and queues the checks the way ingestion does: `checks_enqueue_for_request_ids`,
the service ingestion calls after each batch commits, which sends the `run_checks` task with the
batch's request_ids (`--batch` per task, as one API batch). It prints interactions/s from the
first task sent to the last interaction checked, with the number flagged and the worker's peak
RSS, and the CPU time spent per interaction: the worker's and that of the PostgreSQL backends
serving it (utime + stime from /proc/<pid>/stat; the backends are the client backends of the
scratch database, sampled every 0.05 s, so a backend that exits loses at most its last 0.05 s;
WAL writing and checkpoints are not counted). Celery closes the worker's database connection
after every task (its Django fixup, unless `CELERY_DB_REUSE_MAX` is set), so each task's
backend is a new one: its start-up is part of the PostgreSQL figure, as in production.
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


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """CPU time of the scratch database's client backends (other than ours) since creation."""

    def __init__(self, conn: psycopg.Connection, me: int) -> None:
        self.conn = conn
        self.me = me
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        for pid in self._pids():
            self.start[pid] = self.last[pid] = cpu_seconds(pid)

    def _pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> %s",
            [self.me],
        ).fetchall()
        return [pid for (pid,) in rows]

    def sample(self) -> None:
        for pid in self._pids():
            try:
                self.last[pid] = cpu_seconds(pid)
            except OSError:  # it ended between the query and the read
                continue

    @property
    def seen(self) -> int:
        return len(self.last)

    def total(self) -> float:
        return sum(last - self.start.get(pid, 0.0) for pid, last in self.last.items())


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
        from annotation.services.checks import checks_enqueue_for_request_ids

        with psycopg.connect(BENCH_DATABASE_URL) as conn:
            ids = [
                rid
                for (rid,) in conn.execute(
                    "SELECT request_id FROM annotation_interaction ORDER BY id"
                )
            ]
        with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
            me = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            backends = BackendCpu(conn, me)
            worker_cpu = cpu_seconds(worker.pid)
            started = time.perf_counter()
            for start in range(0, len(ids), args.batch):
                # Outside a transaction the on-commit hook sends the task at once.
                checks_enqueue_for_request_ids(
                    project_id=project_id, request_ids=ids[start : start + args.batch]
                )
            while conn.execute(
                "SELECT count(*) FROM annotation_interaction WHERE checked_at IS NULL"
            ).fetchone()[0]:
                backends.sample()
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            backends.sample()
            worker_cpu = cpu_seconds(worker.pid) - worker_cpu
            pg_cpu = backends.total()
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
    per = 1e6 / len(ids)
    print(
        f"CPU per interaction: {(worker_cpu + pg_cpu) * per:.0f} µs in total = worker "
        f"{worker_cpu * per:.0f} µs + PostgreSQL {pg_cpu * per:.0f} µs "
        f"({backends.seen} backends); {len(ids) / (worker_cpu + pg_cpu):,.0f} interactions "
        "per CPU-second"
    )
    print(f"worker peak RSS: {rss:.0f} MB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
