"""A fired alert reaching a webhook receiver, end to end, with real processes.

    .venv/bin/python bench/actions.py [--rounds 3] [--spike 200]

Runs what production runs: gunicorn (2 sync workers) taking ingestion over HTTP, one Celery
worker on every queue (`-Q default,checks,evaluators,heavy,alerts`, 2 processes), Celery beat
with the settings' schedule (rollups every 10 s, alert rules every 60 s), PostgreSQL and Redis;
the receiver is an HTTP server in this process on 127.0.0.1 (`WEBHOOK_ALLOW_PRIVATE=true`).

Each round has its own project with one rule, `negative_feedback_rate > 0.3` over the last hour
with at least 20 ratings, naming one webhook. The round ingests a spike of `--spike`
interactions and their ratings (60% thumbs down) through the API, and the clock starts when
the last ingestion request has been answered. It stops when the receiver gets the signed
`alert.fired` POST. Printed per round: ingestion to receipt, and where the time went (ingestion
to the alert row, the alert to its delivery row, the delivery row to receipt). The rounds start
at different moments of the beat's minute, so they sample its phase.

Uses (and recreates) the database `feedbackloop_bench_actions` (`BENCH_DB` to change it) and
Redis database 5 under its own key prefix (`BENCH_REDIS_URL`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("BENCH_DB", "feedbackloop_bench_actions")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ROOT, bench_env, fresh_database, gunicorn, interaction

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
PREFIX = "bench-actions:"
SECRET = "whsec_bench-secret-0123456789abcdef"
TARGET_SECONDS = 90


class Receiver:
    """Records when each alert.fired arrives, by path, and checks its signature."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, bool]] = {}
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                from annotation.outbound.signing import verify_signature

                signed = verify_signature(
                    SECRET, body, self.headers.get("X-Feedbackloop-Signature", ""), now=at
                )
                if json.loads(body).get("event") == "alert.fired":
                    with receiver.event:
                        receiver.arrivals.setdefault(self.path, (at, signed))
                        receiver.event.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path: str, timeout: float) -> tuple[float, bool] | None:
        deadline = time.time() + timeout
        with self.event:
            while path not in self.arrivals and time.time() < deadline:
                self.event.wait(timeout=1)
            return self.arrivals.get(path)


@contextlib.contextmanager
def celery(env: dict[str, str], logs: Path) -> Iterator[None]:
    base = [sys.executable, "-m", "celery", "-A", "feedbackloop"]
    queues = "default,checks,evaluators,heavy,alerts"
    subprocess.run([*base, "purge", "-f", "-Q", queues], cwd=ROOT, env=env, capture_output=True)
    worker = subprocess.Popen(
        [*base, "worker", "-Q", queues, "-c", "2", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(logs / "worker.log", "wb"),  # noqa: SIM115 (closed with the process)
    )
    beat = subprocess.Popen(
        [*base, "beat", "-s", str(logs / "beat-schedule"), "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(logs / "beat.log", "wb"),  # noqa: SIM115
    )
    try:
        yield
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(timeout=60)


def post(url: str, key: str, body: object) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def setup(rounds: int, port: int) -> list[tuple[str, str]]:
    """One project per round with its key, webhook and rule; returns (name, key) pairs."""
    import django

    django.setup()
    from annotation.services.alert_rules import alert_rule_create
    from annotation.services.projects import project_create
    from annotation.services.webhooks import webhook_create

    projects = []
    for n in range(rounds):
        created = project_create(name=f"bench-{n}")
        project = created.obj.project
        webhook, _ = webhook_create(
            project=project,
            created_by=None,
            data={
                "name": "receiver",
                "url": f"http://127.0.0.1:{port}/{project.name}",
                "secret": SECRET,
            },
        )
        alert_rule_create(
            project=project,
            user=None,
            body={
                "name": "thumbs-down spike",
                "metric": "negative_feedback_rate",
                "window_minutes": 60,
                "baseline_minutes": 1440,
                "condition": {"type": "threshold", "value": 0.3},
                "min_count": 20,
                "cooldown_minutes": 60,
                "webhooks": [webhook.pk],
            },
        )
        projects.append((project.name, created.secret))
    return projects


def spike(url: str, key: str, name: str, size: int, rng: random.Random) -> None:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    rows = [{**interaction(rng, n, prefix=name), "timestamp": now} for n in range(size)]
    for start in range(0, size, 500):
        post(f"{url}/api/v1/interactions", key, {"items": rows[start : start + 500]})
    ratings = [
        {
            "request_id": f"{name}-{n}",
            "kind": "rating",
            "scale": "thumbs",
            "value": 0 if rng.random() < 0.6 else 1,
        }
        for n in range(size)
    ]
    for start in range(0, size, 500):
        post(f"{url}/api/v1/feedback", key, {"items": ratings[start : start + 500]})


def breakdown(name: str, ingested: float) -> tuple[float, float] | None:
    from annotation.models import WebhookDelivery
    from annotation.models.alerts import Alert

    alert = Alert.objects.filter(rule__project__name=name).order_by("fired_at").first()
    delivery = (
        WebhookDelivery.objects.filter(webhook__project__name=name, event="alert.fired")
        .order_by("created_at")
        .first()
    )
    if alert is None or delivery is None:
        return None
    return alert.fired_at.timestamp() - ingested, delivery.created_at.timestamp() - ingested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spike", type=int, default=200)
    args = parser.parse_args()

    env = bench_env(
        CELERY_BROKER_URL=REDIS,
        CELERY_RESULT_BACKEND="",
        REDIS_URL=REDIS,
        CELERY_BROKER_KEY_PREFIX=PREFIX,
        CACHE_KEY_PREFIX=PREFIX,
        WEBHOOK_ALLOW_PRIVATE="true",
        SECURE_SSL_REDIRECT="false",  # plain http on 127.0.0.1
    )
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "feedbackloop.settings"
    fresh_database()
    receiver = Receiver()
    projects = setup(args.rounds, receiver.port)
    rng = random.Random(7)
    results: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        celery(env, Path(tmp)),
        gunicorn(
            workers=2,
            CELERY_BROKER_URL=REDIS,
            CELERY_RESULT_BACKEND="",
            REDIS_URL=REDIS,
            CELERY_BROKER_KEY_PREFIX=PREFIX,
            CACHE_KEY_PREFIX=PREFIX,
            SECURE_SSL_REDIRECT="false",
        ) as url,
    ):
        time.sleep(5)  # worker and beat connect; beat's first ticks run
        for name, key in projects:
            started = time.time()
            spike(url, key, name, args.spike, rng)
            ingested = time.time()
            arrival = receiver.wait(f"/{name}", timeout=300)
            if arrival is None:
                print(
                    f"{name}: no alert.fired within 300 s (ingestion took {ingested - started:.1f} s)"
                )
                continue
            at, signed = arrival
            parts = breakdown(name, ingested)
            total = at - ingested
            results.append(total)
            detail = (
                f"alert row +{parts[0]:.1f} s, delivery row +{parts[1]:.1f} s, "
                f"received +{total:.1f} s"
                if parts
                else ""
            )
            print(
                f"{name}: ingestion of {args.spike} interactions and ratings took "
                f"{ingested - started:.1f} s; ingested -> alert.fired received: {total:.1f} s "
                f"({detail}); signature {'valid' if signed else 'INVALID'}"
            )
            time.sleep(rng.uniform(5, 25))  # the next round starts at another phase of beat
    if results:
        print(
            f"ingestion -> rollup -> rule -> delivery: median {statistics.median(results):.1f} s, "
            f"max {max(results):.1f} s over {len(results)} rounds "
            f"(target < {TARGET_SECONDS} s); load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
