"""Alert evaluation at production volume on PostgreSQL: one tick of 200 rules over 5M interactions.

    .venv/bin/python bench/alerts.py [--interactions 5000000] [--rules 200] [--ticks 20]

1. Writes the hourly rollups that `--interactions` interactions over 30 days leave behind,
   straight into the rollup tables (what is timed is evaluation, not the rollup build, which
   bench/insights.py measures): one row per hour and slice (4 model versions x 5 prompt
   templates x 3 variants = 60 slices, 43,200 rows), flags of one check on about 5% of them,
   and settled reviews of one queue; then VACUUM ANALYZE.
2. Creates `--rules` active rules of every metric and condition, filtered by nothing, a model
   version, a prompt template or both, with windows from 1 hour to 1 day and baselines from
   1 day to 30 days.
3. Runs `--ticks` evaluation ticks (`alerts_evaluate`, what beat runs every minute), a minute
   apart, in a fresh process (no warmed Python or Django caches; the first tick also pays for
   imports), and prints the first tick, p50 and p95 per tick, the queries per tick and how many
   alerts fired and resolved.

Uses (and recreates) the database `feedbackloop_bench_alerts` (`BENCH_DB` to change it).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("BENCH_DB", "feedbackloop_bench_alerts")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import bench_env, fresh_database, manage

END = datetime(2026, 11, 30, tzinfo=UTC)
DAYS = 30
VERSIONS = ("1.4.0", "1.5.0-rc1", "2.0", "0.9")
TEMPLATES = tuple(f"template_{n}" for n in range(5))
VARIANTS = ("A", "B", "C")
NEGATIVE = {"1.4.0": 0.14, "1.5.0-rc1": 0.29, "2.0": 0.2, "0.9": 0.2}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def seed(project_id: int, check_id: int, queue_id: int, interactions: int) -> int:
    """Rollup rows as the rebuild would leave them; returns how many slice rows."""
    from annotation.models import FlagRollup, ReviewRollup, SliceRollup

    rng = random.Random(7)
    hours = DAYS * 24
    slices = [(v, t, var) for v in VERSIONS for t in TEMPLATES for var in VARIANTS]
    per_row = interactions / (hours * len(slices))
    start = END - timedelta(days=DAYS)
    rows, flags, reviews = [], [], []
    for h in range(hours):
        hour = start + timedelta(hours=h)
        # A daily cycle, so volumes vary the way traffic does.
        daily = 0.6 + 0.8 * ((h % 24) / 23)
        for version, template, variant in slices:
            n = max(0, round(per_row * daily * rng.uniform(0.7, 1.3)))
            rated = round(n * 0.2)
            negative = sum(rng.random() < NEGATIVE[version] for _ in range(rated))
            ratings = round(rated * 0.8)
            rating_sum = ratings * rng.uniform(0.55, 0.75)
            dims = {
                "project_id": project_id,
                "hour": hour,
                "model": "gpt-x",
                "model_version": version,
                "prompt_template": template,
                "prompt_template_version": "1",
                "experiment": "tone-test",
                "variant": variant,
            }
            rows.append(
                SliceRollup(
                    **dims,
                    interactions=n,
                    checked=n,
                    rated=rated,
                    negative=negative,
                    ratings=ratings,
                    rating_sum=rating_sum,
                    rating_sq_sum=rating_sum * 0.8,
                    feedback=rated,
                    implicit=round(n * 0.1),
                    implicit_negative=round(n * rng.uniform(0.03, 0.06)),
                )
            )
            flags.append(
                FlagRollup(**dims, check_config_id=check_id, severity=30, flagged=round(n * 0.05))
            )
            reviewed = rng.randint(0, 3)
            bad = rng.randint(0, reviewed)
            reviews.append(
                ReviewRollup(
                    **dims,
                    queue_id=queue_id,
                    reviewed=reviewed,
                    bad=bad,
                    sum_w=reviewed * 10.0,
                    sum_wy=bad * 10.0,
                    sum_a=reviewed * 90.0,
                    sum_ay=bad * 90.0,
                )
            )
    for model, batch in ((SliceRollup, rows), (FlagRollup, flags), (ReviewRollup, reviews)):
        model.objects.bulk_create(batch, batch_size=5000)
    return len(rows)


def make_rules(project_id: int, check_id: int, count: int) -> None:
    from annotation.models import AlertRule

    rng = random.Random(11)
    metrics = (
        "negative_feedback_rate",
        "mean_rating",
        "flag_rate",
        "implicit_negative_rate",
        "reviewed_bad_rate",
        "volume",
    )
    conditions = {
        "threshold": {
            "negative_feedback_rate": 0.25,
            "mean_rating": 0.6,
            "flag_rate": 0.06,
            "implicit_negative_rate": 0.05,
            "reviewed_bad_rate": 0.5,
            "volume": 180,
        },
        "relative_increase": dict.fromkeys(metrics, 0.2),
        "zscore": dict.fromkeys(metrics, 2.0),
    }
    rules = []
    for index in range(count):
        metric = metrics[index % len(metrics)]
        condition = ("threshold", "relative_increase", "zscore")[index // len(metrics) % 3]
        window = rng.choice((60, 60, 120, 360, 1440))
        baseline = max(2 * window, rng.choice((1440, 1440, 10080, 10080, 43200)))
        filters: dict[str, list[str]] = {}
        choice = index % 4
        if choice in (1, 3):
            filters["model_version"] = [rng.choice(VERSIONS)]
        if choice in (2, 3):
            filters["prompt_template"] = [rng.choice(TEMPLATES)]
        rules.append(
            AlertRule(
                project_id=project_id,
                name=f"rule {index}",
                metric=metric,
                filters=filters,
                check_config_id=check_id if metric == "flag_rate" else None,
                window_minutes=window,
                baseline_minutes=baseline,
                condition_type=condition,
                condition_value=conditions[condition][metric],
                direction="below" if metric == "mean_rating" else "above",
                min_count=20,
                cooldown_minutes=30,
            )
        )
    AlertRule.objects.bulk_create(rules)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()

    fresh_database()
    manage("createproject", "bench")
    os.environ.update(bench_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "feedbackloop.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotation.models import Alert, Check, Project, Queue
    from annotation.services.alerts import alerts_evaluate

    project = Project.objects.get(name="bench")
    check = Check.objects.filter(project=project).order_by("pk").first()
    assert check is not None
    queue = Queue.objects.create(project=project, name="weekly", sources=[], schema={"fields": []})
    started = time.perf_counter()
    rows = seed(project.pk, check.pk, queue.pk, args.interactions)
    make_rules(project.pk, check.pk, args.rules)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"seeded {rows:,} slice rollup rows (and as many flag and review rows) for "
        f"{args.interactions:,} interactions over {DAYS} days, {args.rules} rules, "
        f"in {time.perf_counter() - started:.0f} s"
    )

    timings, queries, fired, resolved = [], [], 0, 0
    for tick in range(args.ticks):
        now = END + timedelta(minutes=20 + tick)
        with CaptureQueriesContext(connection) as captured:
            before = time.perf_counter()
            result = alerts_evaluate(now=now)
            timings.append((time.perf_counter() - before) * 1000)
        queries.append(len(captured.captured_queries))
        fired += len(result.fired)
        resolved += len(result.resolved)
        assert result.rules == args.rules and not result.skipped
    print(
        f"{args.rules} rules per tick over the rollups of {args.interactions:,} interactions: "
        f"first tick {timings[0]:.0f} ms, p50 {percentile(timings, 0.5):.0f} ms, "
        f"p95 {percentile(timings, 0.95):.0f} ms over {args.ticks} ticks; "
        f"{percentile([float(q) for q in queries], 0.5):.0f} queries per tick (p50, firing "
        f"included); {fired} alerts fired and {resolved} resolved in all; "
        f"{Alert.objects.filter(state='firing').count()} firing at the end"
    )


if __name__ == "__main__":
    main()
