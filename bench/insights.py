"""Insights at production volume on PostgreSQL: rollup build rate and the metrics' server time.

    .venv/bin/python bench/insights.py [--interactions 5000000] [--feedback 1000000] [--requests 30]

1. COPY `--interactions` interactions over 30 days (3 models, 4 model versions, 5 prompt
   templates in 3 versions, an A/B experiment, metadata), `--feedback` feedback rows linked to
   them (ratings, reasons, implicit events) and flags of the `pii` check on 5%, then VACUUM
   ANALYZE, as autovacuum would after a load.
2. Builds every hourly rollup from scratch with the service the beat task runs
   (`rollups_rebuild`), in this process: interactions/s.
3. Times, inside Django (middleware, authentication, queries, JSON; a cold cache for the first
   request), `--requests` requests each of: a 7-day hourly series of the negative-feedback rate
   by model version, a 30-day daily flag rate, a 30-day A/B comparison of two model versions
   (API); the overview, compare and slices pages; two explorer searches (a slice with negative
   feedback, and full text); prints p50 and p95 in ms.

Uses (and recreates) the database `feedbackloop_bench_insights` (`BENCH_DB` to change it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

os.environ.setdefault("BENCH_DB", "feedbackloop_bench_insights")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import BENCH_DATABASE_URL, bench_env, fresh_database, manage

END = datetime(2026, 11, 30, tzinfo=UTC)
DAYS = 30


def load(conn: psycopg.Connection, project_id: int, interactions: int, feedback: int) -> None:
    """Generate the rows inside PostgreSQL (generate_series with a fixed seed): fast, repeatable."""
    started = time.perf_counter()
    conn.execute("SELECT setseed(0.7)")
    conn.execute(
        """
        INSERT INTO annotation_interaction (project_id, request_id, timestamp, model, model_version,
            prompt_template, prompt_template_version, messages, response, retrieved_context,
            user_id, session_id, experiment, variant, latency_ms, tokens_in, tokens_out, cost,
            metadata, received_at, checked_at)
        SELECT %(project)s, 'r' || n, ts,
            (ARRAY['gpt-x', 'gpt-x', 'gpt-y', 'gpt-z'])[n %% 4 + 1],
            (ARRAY['1.4.0', '1.5.0-rc1', '2.0', '0.9'])[n %% 4 + 1],
            'template_' || (n %% 15 / 3), ((n %% 15) %% 3 + 1)::text,
            jsonb_build_array(jsonb_build_object('role', 'user',
                'content', 'Question ' || (n %% 200) || ' about billing and invoices?')),
            'Answer ' || n || ': open Billing, then Invoices.', '[]', '', '', 'tone-test',
            CASE WHEN n %% 2 = 0 THEN 'A' ELSE 'B' END, 800, 300, 120, NULL,
            jsonb_build_object('locale', (ARRAY['en-GB', 'de-DE', 'fr-FR'])[n %% 3 + 1],
                               'channel', (ARRAY['web', 'ios', 'android'])[n / 3 %% 3 + 1]),
            ts, ts
        FROM (SELECT n, %(end)s - random() * interval '30 days' AS ts
              FROM generate_series(0, %(count)s - 1) AS n) AS g
        """,
        {"project": project_id, "end": END, "count": interactions},
    )
    conn.commit()
    print(f"loaded {interactions:,} interactions in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    low, high = conn.execute(
        "SELECT min(id), max(id) FROM annotation_interaction WHERE project_id = %s", (project_id,)
    ).fetchone()
    # Thumbs down on 14% of 1.4.0's ratings and 29% of 1.5.0-rc1's (20% elsewhere).
    conn.execute(
        """
        INSERT INTO annotation_feedback (project_id, request_id, interaction_id, kind, source,
            value, scale, normalized_score, labels, text, event, user_id, metadata, timestamp,
            received_at, feedback_id)
        SELECT i.project_id, i.request_id, i.id,
            CASE WHEN f.roll < 0.7 THEN 'rating' WHEN f.roll < 0.85 THEN 'label' ELSE 'implicit' END,
            'user',
            CASE WHEN f.roll < 0.7 THEN (CASE WHEN f.down THEN 0.0 ELSE 1.0 END) END,
            CASE WHEN f.roll < 0.7 THEN 'thumbs' ELSE '' END,
            CASE WHEN f.roll < 0.7 THEN (CASE WHEN f.down THEN 0.0 ELSE 1.0 END) END,
            CASE WHEN f.roll >= 0.7 AND f.roll < 0.85
                 THEN jsonb_build_array((ARRAY['incorrect', 'unhelpful'])[(f.pick * 2)::int %% 2 + 1])
                 ELSE '[]'::jsonb END,
            '',
            CASE WHEN f.roll >= 0.85
                 THEN (ARRAY['copy', 'rephrased', 'abandoned'])[(f.pick * 3)::int %% 3 + 1]
                 ELSE '' END,
            '', '{}', i.timestamp, i.timestamp, ''
        FROM (SELECT %(low)s + floor(random() * (%(high)s - %(low)s + 1))::bigint AS iid,
                     random() AS roll, random() AS pick, random() AS chance
              FROM generate_series(1, %(count)s)) AS r
        JOIN annotation_interaction i ON i.id = r.iid
        CROSS JOIN LATERAL (SELECT r.roll, r.pick, r.chance < CASE i.model_version
            WHEN '1.4.0' THEN 0.14 WHEN '1.5.0-rc1' THEN 0.29 ELSE 0.20 END AS down) AS f
        """,
        {"low": low, "high": high, "count": feedback},
    )
    print(f"loaded {feedback:,} feedback rows in {time.perf_counter() - started:.0f} s")
    check_id = conn.execute(
        "SELECT id FROM annotation_check WHERE project_id = %s AND name = 'pii'", (project_id,)
    ).fetchone()[0]
    conn.execute(
        """INSERT INTO annotation_flag (project_id, interaction_id, check_id, flagged, severity,
               score, spans, label, rationale, created_at)
           SELECT project_id, id, %s, true, 30, 1.0, '[]', 'email', '', timestamp
           FROM annotation_interaction WHERE project_id = %s AND id %% 20 = 0""",
        (check_id, project_id),
    )
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    fresh_database()
    manage("createproject", "bench")
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        project_id = conn.execute(
            "SELECT id FROM annotation_project WHERE name = 'bench'"
        ).fetchone()[0]
        load(conn, project_id, args.interactions, args.feedback)

    os.environ.update(bench_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "feedbackloop.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.test import Client

    from annotation.models import Project, Role
    from annotation.services.projects import member_upsert
    from annotation.services.rollups import rollups_rebuild

    project = Project.objects.get(name="bench")
    started = time.perf_counter()
    hours = rollups_rebuild(project=project, since=END - timedelta(days=DAYS + 1), until=END)
    seconds = time.perf_counter() - started
    print(
        f"rollups from scratch: {hours} hours in {seconds:.1f} s = "
        f"{args.interactions / seconds:,.0f} interactions/s"
    )

    token = member_upsert(username="lead", project=project, role=Role.LEAD).secret
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="localhost")
    week = {"since": (END - timedelta(days=7)).isoformat(), "until": END.isoformat()}
    month = {"since": (END - timedelta(days=DAYS)).isoformat(), "until": END.isoformat()}
    requests = {
        "timeseries 7 days hourly by model_version": (
            "/api/v1/metrics/timeseries",
            {"metric": "negative_feedback_rate", "group_by": "model_version", **week},
        ),
        "timeseries 30 days daily flag rate": (
            "/api/v1/metrics/timeseries",
            {"metric": "flag_rate", "check": "pii", "bucket": "day", **month},
        ),
        "compare 30 days 1.4.0 vs 1.5.0-rc1": (
            "/api/v1/metrics/compare",
            {"dimension": "model_version", "a": "1.4.0", "b": "1.5.0-rc1", **month},
        ),
    }
    # One request of each first, so imports and connection set-up (once per worker process) are
    # not counted; every series then starts on an empty cache.
    for path, params in requests.values():
        client.get(path, {"project": "bench", **params})
    for name, (path, params) in requests.items():
        cache.clear()
        timings = []
        for _ in range(args.requests):
            before = time.perf_counter()
            response = client.get(path, {"project": "bench", **params})
            timings.append((time.perf_counter() - before) * 1000)
            assert response.status_code == 200, response.content[:300]
        print(
            f"{name}: p50 {percentile(timings, 0.5):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms "
            f"(first, on an empty cache: {timings[0]:.1f} ms)"
        )
    # Pages (session login): the dashboard overview, the compare page, the worst slices and
    # the explorer's searches.
    from django.contrib.auth import get_user_model

    browser = Client(HTTP_HOST="localhost")
    browser.force_login(get_user_model().objects.get(username="lead"))
    pages = {
        "overview page, 7 days": ("/insights/bench/", week),
        "compare page, 30 days": (
            "/insights/bench/compare",
            {"dimension": "model_version", "a": "1.4.0", "b": "1.5.0-rc1", **month},
        ),
        "slices page, 30 days": ("/insights/bench/slices", month),
        "explorer: 7 days, one model version, negative": (
            "/insights/bench/interactions",
            {"model_version": "1.5.0-rc1", "negative": "1", **week},
        ),
        "explorer: full text 'invoices', 30 days": (
            "/insights/bench/interactions",
            {"q": "invoices", **month},
        ),
    }
    for path, params in pages.values():
        browser.get(path, params)
    for name, (path, params) in pages.items():
        cache.clear()
        timings = []
        for _ in range(args.requests):
            before = time.perf_counter()
            response = browser.get(path, params)
            timings.append((time.perf_counter() - before) * 1000)
            if response.status_code != 200:
                print(f"{name}: HTTP {response.status_code}")
                break
        else:
            print(
                f"{name}: p50 {percentile(timings, 0.5):.1f} ms, "
                f"p95 {percentile(timings, 0.95):.1f} ms (first, on an empty cache: {timings[0]:.1f} ms)"
            )
    body = client.get(
        "/api/v1/metrics/compare",
        {"project": "bench", **requests["compare 30 days 1.4.0 vs 1.5.0-rc1"][1]},
    ).json()
    negative = next(m for m in body["metrics"] if m["metric"] == "negative_feedback_rate")
    print(
        "negative_feedback_rate 1.4.0 vs 1.5.0-rc1: "
        f"{negative['a']['value']:.3f} vs {negative['b']['value']:.3f}, difference "
        f"{negative['difference']:+.3f} [{negative['ci95'][0]:.3f}, {negative['ci95'][1]:.3f}], "
        f"p = {negative['p_value']:.2g}"
    )


if __name__ == "__main__":
    main()
