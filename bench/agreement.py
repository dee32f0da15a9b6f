"""An agreement report for 100,000 items x 3 annotators x 4 fields, through a real Celery worker.

    .venv/bin/python bench/agreement.py [--items 100000] [--resamples 500]

Loads the annotations into PostgreSQL with set-based SQL, starts one Celery worker (solo pool) on
the `heavy` queue, requests a report the way the API does, and prints the time from the request
to the stored result; beside it, the `krippendorff` package's own time for alpha on the verdict
matrix alone (no database, no intervals), for scale. Uses the database `feedbackloop_bench`
(or $BENCH_DB), recreated.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._harness import BENCH_DATABASE_URL, bench_env, celery_worker, fresh_database

BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")
SCHEMA = {
    "fields": [
        {"name": "verdict", "type": "choice", "options": ["good", "bad"], "agreement": True},
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "rating", "type": "likert", "min": 1, "max": 5},
        {"name": "preference", "type": "pairwise"},
    ]
}

# Annotations whose answers mostly follow a hidden truth per item, so agreement is realistic.
ANNOTATIONS_SQL = """
INSERT INTO annotation_annotation (item_id, annotator_id, values, guideline_id, seconds, revision,
                                   created_at, updated_at)
SELECT i.id, a.user_id,
       jsonb_build_object(
         'verdict', CASE WHEN (hashtext(i.id::text || a.n::text) & 7) = 0
                         THEN (CASE WHEN i.id %% 3 = 0 THEN 'good' ELSE 'bad' END)
                         ELSE (CASE WHEN i.id %% 3 = 0 THEN 'bad' ELSE 'good' END) END,
         'reasons', CASE WHEN i.id %% 3 = 0 THEN jsonb_build_array('incorrect')
                         WHEN (hashtext(a.n::text || i.id::text) & 3) = 0 THEN jsonb_build_array('unhelpful')
                         ELSE '[]'::jsonb END,
         'rating', greatest(1, least(5, 3 + (i.id %% 3) - 1 + ((hashtext(i.id::text || 'r' || a.n::text) & 3) - 1) / 2)),
         'preference', (ARRAY['A', 'B', 'tie'])[1 + ((i.id + (hashtext(a.n::text || 'p' || i.id::text) & 1)) %% 3)]
       ),
       %(guideline)s, 20, 1, now(), now()
FROM annotation_queueitem i
CROSS JOIN (SELECT row_number() OVER (ORDER BY id) AS n, id AS user_id
            FROM auth_user WHERE username LIKE 'ann%%') a
WHERE i.queue_id = %(queue)s
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()

    fresh_database()
    env = bench_env(CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND="")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "feedbackloop.settings")
    import django

    django.setup()
    from django.db import connection

    from annotation.agreement import krippendorff_alpha
    from annotation.models import AgreementReport
    from annotation.services.agreement import agreement_request
    from annotation.services.guidelines import guideline_publish
    from annotation.services.projects import member_upsert, project_create
    from annotation.services.queues import queue_create

    project = project_create(name="bench").obj.project
    people = [
        member_upsert(username=f"ann{n}", project=project, role="annotator").obj.user
        for n in range(3)
    ]
    guideline = guideline_publish(project=project, text="# Review")
    queue = queue_create(
        project=project,
        name="agree",
        sources=[{"type": "random", "rate": 1.0, "seed": 1}],
        schema=SCHEMA,
        overlap=3,
        capacity=1_000_000,
        annotators=people,
    )
    connection.close()
    loaded = time.perf_counter()
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        conn.execute(
            "INSERT INTO annotation_interaction (project_id, request_id, timestamp, model, model_version,"
            " prompt_template, prompt_template_version, messages, response, retrieved_context, user_id,"
            " session_id, experiment, variant, metadata, received_at) SELECT %s, 'r-' || g, now(), 'm', 'v',"
            " 't', '1', '[]', 'answer', '[]', '', '', '', '', '{}', now() FROM generate_series(1, %s) g",
            [project.pk, args.items],
        )
        conn.execute(
            "INSERT INTO annotation_queueitem (queue_id, interaction_id, reasons, inclusion_probability, priority,"
            " state, annotations_wanted, annotations_done, leases_active, skips, created_at, updated_at)"
            " SELECT %s, id, '[\"random\"]', 1, 0, 'done', 3, 3, 0, 0, now(), now() FROM annotation_interaction",
            [queue.pk],
        )
        conn.execute(ANNOTATIONS_SQL, {"guideline": guideline.pk, "queue": queue.pk})
        count = conn.execute("SELECT count(*) FROM annotation_annotation").fetchone()[0]
    with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(
        f"{args.items:,} items x 3 annotators x {len(SCHEMA['fields'])} fields: {count:,} annotations "
        f"loaded in {time.perf_counter() - loaded:.1f} s"
    )

    with celery_worker("heavy", env):
        started = time.perf_counter()
        report = agreement_request(queue=queue, requested_by=None, resamples=args.resamples)
        while True:
            report.refresh_from_db()
            if report.status in ("done", "failed"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    assert report.status == "done", report.error
    verdict = next(f for f in report.result["fields"] if f["name"] == "verdict")
    print(
        f"report through the Celery task, end to end: {elapsed:.2f} s "
        f"({args.resamples} bootstrap resamples per field; verdict alpha {verdict['krippendorff_alpha']:.3f} "
        f"[{verdict['krippendorff_alpha_ci'][0]:.3f}, {verdict['krippendorff_alpha_ci'][1]:.3f}])"
    )

    import krippendorff

    units = [
        {a: v["verdict"] for a, v in zip("abc", values, strict=False)}
        for values in _verdicts(queue.pk)
    ]
    codes = {"good": 0, "bad": 1}
    matrix = np.array([[codes[u[a]] for u in units] for a in "abc"], dtype=float)
    started = time.perf_counter()
    reference = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    package = time.perf_counter() - started
    print(
        f"krippendorff package, alpha of the verdict matrix alone: {package:.2f} s (alpha {reference:.3f}; "
        f"ours {krippendorff_alpha(units):.3f})"
    )
    AgreementReport.objects.all().delete()


def _verdicts(queue_id: int) -> list[list[dict[str, str]]]:
    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        rows = conn.execute(
            "SELECT item_id, array_agg(values ORDER BY annotator_id) FROM annotation_annotation a"
            " JOIN annotation_queueitem i ON i.id = a.item_id WHERE i.queue_id = %s GROUP BY item_id",
            [queue_id],
        ).fetchall()
    return [list(values) for _, values in rows]


if __name__ == "__main__":
    main()
