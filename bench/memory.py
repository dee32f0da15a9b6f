"""Memory at rest: two gunicorn sync workers and one Celery worker, after start and a few requests.

    .venv/bin/python bench/memory.py [--requests 10]

Recreates a scratch database (`feedbackloop_bench_memory`, `BENCH_DB` to change it) with one
project, a lead, an annotator queue of 200 interactions and an API token; starts gunicorn with
two sync workers (as `bench/_harness.py` does) and one Celery worker (solo pool, the `default`
queue, on the Redis broker `BENCH_BROKER_URL`), then warms the web workers: `--requests` rounds of
a page (the lead hub, `/lead/`, with its session) and an API list (`GET /api/v1/queues` with the
token). Once every process has been idle (no CPU time used) for two seconds it reads
`/proc/<pid>/smaps_rollup` of each and prints PSS and RSS per process and in total.

PSS (proportional set size) charges each page shared between processes (the interpreter, shared
libraries) to each of them in part, so the PSS figures add up to what the set really occupies;
RSS counts shared pages in every process that maps them. The gunicorn master (which only forks
and watches the workers) is listed and totalled separately. Target: ≤ 250 MB PSS for the two
workers and the Celery worker.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import urllib.request
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB", "feedbackloop_bench_memory")
from bench._harness import bench_env, celery_worker, fresh_database, gunicorn, interaction

BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
HZ = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime + stime


def memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, RSS) of a process in MB, from /proc/<pid>/smaps_rollup."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Pss", "Rss"):
            values[key] = int(rest.split()[0])
    return values["Pss"] / 1024, values["Rss"] / 1024


def wait_idle(pids: list[int], quiet: float = 2.0, limit: float = 60.0) -> float:
    """Wait until none of `pids` uses CPU for `quiet` seconds; returns how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = [cpu_seconds(pid) for pid in pids]
        time.sleep(quiet)
        if [cpu_seconds(pid) for pid in pids] == before:
            break
    return time.monotonic() - started


def setup_rows() -> tuple[str, str, str]:
    """A project with a lead, a queue and an API token; returns (session cookie, token, page)."""
    os.environ.update(
        bench_env(ALLOWED_HOSTS="testserver", CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND="")
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "feedbackloop.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from annotation.schemas.ingestion import InteractionIn
    from annotation.services.ingestion import interactions_ingest
    from annotation.services.projects import api_token_create, member_upsert, project_create
    from annotation.services.queues import queue_create

    project = project_create(name="bench").obj.project
    lead = member_upsert(username="lead", project=project, role="lead").obj.user
    annotator = member_upsert(username="ann", project=project, role="annotator").obj.user
    rng = random.Random(1)
    items = [msgspec.convert(interaction(rng, n), InteractionIn) for n in range(200)]
    interactions_ingest(project=project, items=items)
    queue_create(
        project=project,
        name="review",
        sources=[{"type": "random", "rate": 1.0, "seed": 1}],
        schema={"fields": [{"name": "verdict", "type": "choice", "options": ["good", "bad"]}]},
        overlap=1,
        capacity=1000,
        annotators=[annotator],
    )
    session = SessionStore()
    session[SESSION_KEY] = str(lead.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = lead.get_session_auth_hash()
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    return cookie, api_token_create(user=lead).secret, "/lead/"


def get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return int(response.status)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10, help="rounds of page + API list")
    args = parser.parse_args()

    fresh_database()
    cookie, token, page = setup_rows()
    env = bench_env(CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND="")
    with (
        celery_worker("default", env) as worker,
        gunicorn(workers=2, CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND="") as url,
    ):
        masters = [pid for pid in children(os.getpid()) if pid != worker.pid]
        assert len(masters) == 1, masters
        master = masters[0]
        web = children(master)
        assert len(web) == 2, web
        before = {pid: cpu_seconds(pid) for pid in web}
        for _ in range(args.requests):
            assert get(f"{url}{page}", {"Cookie": cookie}) == 200
            assert get(f"{url}/api/v1/queues", {"Authorization": f"Token {token}"}) == 200
        served = sum(cpu_seconds(pid) > before[pid] for pid in web)
        waited = wait_idle([master, *web, worker.pid])
        rows = [
            ("gunicorn worker 1", web[0]),
            ("gunicorn worker 2", web[1]),
            ("celery worker (solo)", worker.pid),
        ]
        figures = {pid: memory_mb(pid) for _, pid in [*rows, ("master", master)]}

    print(
        f"{args.requests} rounds of GET {page} + GET /api/v1/queues; {served} of 2 web workers "
        f"served requests; idle after {waited:.0f} s"
    )
    print(f"{'process':<22} {'PSS MB':>8} {'RSS MB':>8}")
    for name, pid in rows:
        pss, rss = figures[pid]
        print(f"{name:<22} {pss:8.1f} {rss:8.1f}")
    total_pss = sum(figures[pid][0] for _, pid in rows)
    total_rss = sum(figures[pid][1] for _, pid in rows)
    print(f"{'total (2 web + celery)':<22} {total_pss:8.1f} {total_rss:8.1f}")
    pss, rss = figures[master]
    print(f"{'gunicorn master':<22} {pss:8.1f} {rss:8.1f}")
    print(f"{'total with the master':<22} {total_pss + pss:8.1f} {total_rss + rss:8.1f}")
    print(
        f"target: <= 250 MB PSS for 2 web workers + celery: {'met' if total_pss <= 250 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
