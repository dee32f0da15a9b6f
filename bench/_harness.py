"""Shared pieces of the benchmarks: a scratch PostgreSQL database, gunicorn, realistic rows."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = os.environ.get("BENCH_DB", "feedbackloop_bench")
BENCH_DATABASE_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB

WORDS = [
    "the",
    "account",
    "password",
    "reset",
    "settings",
    "security",
    "team",
    "storage",
    "plan",
    "billing",
    "invoice",
    "sync",
    "file",
    "folder",
    "share",
    "link",
    "device",
    "desktop",
    "mobile",
    "app",
    "error",
    "message",
    "upload",
    "download",
    "restore",
    "deleted",
    "version",
    "history",
    "admin",
    "policy",
    "workspace",
    "member",
    "invite",
    "permission",
    "encryption",
    "backup",
    "quota",
    "limit",
    "support",
    "ticket",
    "refund",
    "trial",
    "upgrade",
    "downgrade",
    "cancel",
    "renew",
    "export",
    "import",
    "integration",
]


def bench_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": BENCH_DATABASE_URL,
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DEBUG": "false",
        "STATIC_MANIFEST": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def manage(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env or bench_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def fresh_database() -> None:
    """Drop and recreate the scratch database, then migrate it."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    manage("migrate", "--noinput", "-v0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(workers: int = 2, threads: int = 1, **env: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "feedbackloop.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread" if threads > 1 else "sync",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=bench_env(**env),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def text_of(rng: random.Random, chars: int) -> str:
    parts: list[str] = []
    length = 0
    while length < chars:
        part = sentence(rng, rng.randint(6, 16))
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)[:chars]


def interaction(rng: random.Random, n: int, prefix: str = "bench") -> dict[str, object]:
    """An interaction of realistic size: ~300-char prompt, ~800-char response, metadata."""
    return {
        "request_id": f"{prefix}-{n}",
        "timestamp": "2026-11-20T10:00:00Z",
        "model": "nimbus-large",
        "model_version": rng.choice(["2026-10-01", "2026-11-15"]),
        "prompt_template": "support_answer",
        "prompt_template_version": "3",
        "messages": [
            {"role": "system", "content": "You are Nimbus, the support assistant of Cloudnest."},
            {"role": "user", "content": text_of(rng, 250)},
        ],
        "response": text_of(rng, 800),
        "user_id": f"user-{rng.randint(1, 50_000)}",
        "session_id": f"s-{rng.randint(1, 200_000)}",
        "experiment": "tone-test",
        "variant": rng.choice(["A", "B"]),
        "latency_ms": round(rng.uniform(200, 3000), 1),
        "tokens_in": rng.randint(100, 500),
        "tokens_out": rng.randint(100, 400),
        "cost": round(rng.uniform(0.0001, 0.004), 5),
        "metadata": {"locale": "en-GB", "channel": rng.choice(["web", "ios"]), "tenant": "acme"},
    }


def feedback(rng: random.Random, n: int, prefix: str = "bench") -> dict[str, object]:
    kind = rng.random()
    request_id = f"{prefix}-{n}"
    if kind < 0.5:
        return {
            "request_id": request_id,
            "kind": "rating",
            "value": rng.choice([0, 1]),
            "scale": "thumbs",
            "user_id": "u-1",
        }
    if kind < 0.65:
        return {
            "request_id": request_id,
            "kind": "rating",
            "value": rng.randint(1, 5),
            "scale": "stars5",
        }
    if kind < 0.75:
        return {"request_id": request_id, "kind": "label", "labels": ["incorrect"]}
    if kind < 0.85:
        return {"request_id": request_id, "kind": "comment", "text": text_of(rng, 120)}
    return {
        "request_id": request_id,
        "kind": "implicit",
        "event": "dwell",
        "value": round(rng.uniform(1, 60), 1),
    }


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process (peak resident set), in MB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def celery_worker(queue: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """One Celery worker process (solo pool: one core) on `queue`, with that queue emptied first."""
    celery = [sys.executable, "-m", "celery", "-A", "feedbackloop"]
    subprocess.run(
        [*celery, "purge", "-f", "-Q", queue], cwd=ROOT, env=env, check=True, capture_output=True
    )
    worker = subprocess.Popen(
        [
            *celery,
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # the worker connects and imports
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)
