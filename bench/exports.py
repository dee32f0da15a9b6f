"""Exports at scale on PostgreSQL: 1,000,000 reviewed items as `sft` and `annotations` JSONL.

    .venv/bin/python bench/exports.py [--rows 1000000] [--only sft,annotations,overlap3] [--keep]

1. Bulk-loads `--rows` interactions, queue items (state done) and one annotation each with
   COPY (every prompt distinct, the worst case for the duplicate filter; half the
   annotations correct the response, half approve it; ~300-char prompts, ~800-char
   responses, ~500-char corrections), then VACUUM ANALYZE, as autovacuum would.
2. For each kind, a fresh process runs the export service itself (the code a Celery
   worker runs, here without the broker): reads the items page by page, settles them,
   builds and curates the rows (duplicates collapsed), writes `all.jsonl` atomically and
   the manifest. It prints rows/s by wall clock and the resident set size after 100,000
   rows, at the end, and its peak (VmHWM).
3. The `overlap3` case: a second project with an overlap-3 queue of `--rows / 3` items
   (three annotations each, as many annotations as the first case) in four equal shares:
   all three say good; all three say bad with the same correction; two say good and one bad
   with a lead's adjudication (bad, corrected); two say bad and one good, not adjudicated
   (needs adjudication). A fifth of the prompts carry an e-mail address and a seventh of the
   responses a phone number. It exports `sft` from that queue with `redact_pii` and
   `min_agreement: 0.3`: two of three agreeing is one agreeing pair in three (0.33), so the
   unanimous and the two-to-one items pass; of the latter only the adjudicated ones are settled
   (their rows take the lead's values), the others wait for a lead and are left out.

Uses (and recreates) the database `feedbackloop_bench_exports` (`BENCH_DB` to change it);
`--keep` reuses it if it already holds the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

os.environ.setdefault("BENCH_DB", "feedbackloop_bench_exports")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import (
    BENCH_DATABASE_URL,
    PG_ADMIN_URL,
    bench_env,
    fresh_database,
    peak_rss_mb,
    text_of,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
POOL = 1_000
SCHEMA = {
    "fields": [
        {
            "name": "verdict",
            "type": "choice",
            "options": ["good", "bad"],
            "required": True,
            "agreement": True,
        },
        {"name": "reasons", "type": "multi_choice", "options": "taxonomy"},
        {"name": "rating", "type": "likert", "min": 1, "max": 5},
        {"name": "correction", "type": "correction"},
        {"name": "comment", "type": "text"},
    ]
}
INTERACTION_COLUMNS = (
    "project_id, request_id, timestamp, model, model_version, prompt_template, "
    "prompt_template_version, messages, response, retrieved_context, user_id, session_id, "
    "experiment, variant, latency_ms, tokens_in, tokens_out, cost, metadata, received_at"
)
ITEM_COLUMNS = (
    "queue_id, interaction_id, reasons, inclusion_probability, priority, state, "
    "annotations_wanted, annotations_done, leases_active, skips, created_at, updated_at, "
    "finished_at"
)
ANNOTATION_COLUMNS = (
    "item_id, annotator_id, values, guideline_id, seconds, revision, created_at, updated_at"
)


def _setup() -> None:
    os.environ.update(bench_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "feedbackloop.settings")
    import django

    django.setup()


def _copy(conn: psycopg.Connection, table: str, columns: str, rows: object) -> float:
    started = time.perf_counter()
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:  # type: ignore[attr-defined]
            copy.write_row(row)
    conn.commit()
    return time.perf_counter() - started


OVERLAP_PROJECT = "bench-overlap3"
CASES = {"sft": "sft", "annotations": "annotations", "overlap3": "sft"}


def load_overlap(count: int, engineer_id: int) -> None:
    """The overlap-3 project: `count` items, three annotations each, disagreements, adjudications."""
    from django.contrib.auth import get_user_model

    from annotation.models import Guideline
    from annotation.services.projects import member_upsert, project_create
    from annotation.services.queues import queue_create

    project = project_create(name=OVERLAP_PROJECT).obj.project
    lead = member_upsert(username="lead3", project=project, role="lead").obj.user
    engineer = get_user_model().objects.get(pk=engineer_id)
    member_upsert(username=engineer.get_username(), project=project, role="engineer")
    annotators = [
        member_upsert(username=f"tri{n}", project=project, role="annotator").obj.user
        for n in range(3)
    ]
    guideline = Guideline.objects.create(project=project, version=1, text="v1")
    queue = queue_create(
        project=project,
        name="triple",
        sources=[{"type": "low_rated", "threshold": 0.4}],
        schema=SCHEMA,
        created_by=lead,
        annotators=annotators,
        overlap=3,
    )
    rng = random.Random(2)
    questions = [text_of(rng, 280) for _ in range(POOL)]
    responses = [text_of(rng, 800) for _ in range(POOL)]
    corrections = [text_of(rng, 500) for _ in range(POOL)]

    def interactions() -> object:
        for n in range(count):
            question = f"{questions[n % POOL]} (ticket {n})"
            if n % 5 == 0:
                question += f" Write to me at alex.morgan{n}@example.com please."
            response = responses[(n * 7) % POOL]
            if n % 7 == 0:
                response += " Or call our support line on +44 20 7946 0958."
            yield (
                project.pk,
                f"tri-{n}",
                NOW - timedelta(seconds=count - n),
                "nimbus-large",
                "2026-11-15",
                "support_answer",
                "3",
                json.dumps([{"role": "user", "content": question}]),
                response,
                "[]",
                f"u-{n % 50_000}",
                f"s-{n % 200_000}",
                "tone-test",
                "AB"[n % 2],
                840.0,
                312,
                150,
                0.001,
                "{}",
                NOW,
            )

    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        seconds = _copy(conn, "annotation_interaction", INTERACTION_COLUMNS, interactions())
        print(f"  overlap 3: {count:,} interactions by COPY in {seconds:.1f} s")
        first = conn.execute(
            "SELECT min(id) FROM annotation_interaction WHERE project_id = %s", [project.pk]
        ).fetchone()
        assert first is not None
        first_interaction = first[0]
        reasons = json.dumps(["low_rated"])
        items = (
            (
                queue.pk,
                first_interaction + n,
                reasons,
                1.0,
                0,
                "needs_adjudication" if n % 4 == 3 else "done",
                3,
                3,
                0,
                0,
                NOW,
                NOW,
                None if n % 4 == 3 else NOW,
            )
            for n in range(count)
        )
        seconds = _copy(conn, "annotation_queueitem", ITEM_COLUMNS, items)
        print(f"  overlap 3: {count:,} queue items by COPY in {seconds:.1f} s")
        first = conn.execute(
            "SELECT min(id) FROM annotation_queueitem WHERE queue_id = %s", [queue.pk]
        ).fetchone()
        assert first is not None
        first_item = first[0]
        good = json.dumps({"verdict": "good", "rating": 5})

        def bad(n: int) -> str:
            correction = corrections[n % POOL]
            return json.dumps(
                {"verdict": "bad", "reasons": ["incorrect"], "rating": 2, "correction": correction}
            )

        # Per item, by n % 4: the three annotators' verdicts.
        patterns = [("g", "g", "g"), ("b", "b", "b"), ("g", "g", "b"), ("b", "b", "g")]

        def annotations() -> object:
            for n in range(count):
                for who, verdict in enumerate(patterns[n % 4]):
                    yield (
                        first_item + n,
                        annotators[who].pk,
                        good if verdict == "g" else bad(n),
                        guideline.pk,
                        21.5,
                        1,
                        NOW,
                        NOW,
                    )

        seconds = _copy(conn, "annotation_annotation", ANNOTATION_COLUMNS, annotations())
        print(f"  overlap 3: {3 * count:,} annotations by COPY in {seconds:.1f} s")
        adjudications = ((first_item + n, lead.pk, bad(n), NOW) for n in range(count) if n % 4 == 2)
        seconds = _copy(
            conn, "annotation_adjudication", "item_id, lead_id, values, created_at", adjudications
        )
        print(f"  overlap 3: {count // 4:,} adjudications by COPY in {seconds:.1f} s")
        conn.autocommit = True
        for table in ("interaction", "queueitem", "annotation", "adjudication"):
            conn.execute(f"VACUUM ANALYZE annotation_{table}")


def load(count: int) -> dict[str, int]:
    """A project, a queue, `count` done items with one annotation each; returns their ids."""
    from annotation.models import Guideline
    from annotation.services.projects import member_upsert, project_create
    from annotation.services.queues import queue_create

    project = project_create(name="bench").obj.project
    lead = member_upsert(username="lead", project=project, role="lead").obj.user
    engineer = member_upsert(username="engineer", project=project, role="engineer").obj.user
    annotators = [
        member_upsert(username=f"ann{n}", project=project, role="annotator").obj.user
        for n in range(3)
    ]
    guidelines = [
        Guideline.objects.create(project=project, version=v, text=f"v{v}") for v in (1, 2, 3)
    ]
    queue = queue_create(
        project=project,
        name="weekly",
        sources=[{"type": "low_rated", "threshold": 0.4}],
        schema=SCHEMA,
        created_by=lead,
        annotators=annotators,
    )
    rng = random.Random(1)
    questions = [text_of(rng, 280) for _ in range(POOL)]
    responses = [text_of(rng, 800) for _ in range(POOL)]
    corrections = [text_of(rng, 500) for _ in range(POOL)]
    system = "You are Nimbus, the support assistant of Cloudnest."
    metadata = [json.dumps({"locale": "en-GB", "channel": c}) for c in ("web", "ios")]

    def interactions() -> object:
        for n in range(count):
            # Every prompt distinct: the duplicate filter keeps them all.
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": f"{questions[n % POOL]} (ticket {n})"},
            ]
            yield (
                project.pk,
                f"bench-{n}",
                NOW - timedelta(seconds=count - n),
                "nimbus-large",
                "2026-10-01" if n % 2 else "2026-11-15",
                "support_answer",
                "3",
                json.dumps(messages),
                responses[(n * 7) % POOL],
                "[]",
                f"u-{n % 50_000}",
                f"s-{n % 200_000}",
                "tone-test",
                "AB"[n % 2],
                840.0,
                312,
                150,
                0.001,
                metadata[n % 2],
                NOW,
            )

    with psycopg.connect(BENCH_DATABASE_URL) as conn:
        seconds = _copy(conn, "annotation_interaction", INTERACTION_COLUMNS, interactions())
        print(f"  {count:,} interactions by COPY in {seconds:.1f} s")
        first = conn.execute(
            "SELECT min(id) FROM annotation_interaction WHERE project_id = %s", [project.pk]
        ).fetchone()
        assert first is not None
        first_interaction = first[0]
        reasons = [json.dumps(["low_rated"]), json.dumps(["low_rated", "random"])]
        items = (
            (
                queue.pk,
                first_interaction + n,
                reasons[n % 2],
                1.0 if n % 2 == 0 else 0.01,
                0,
                "done",
                1,
                1,
                0,
                0,
                NOW,
                NOW,
                NOW,
            )
            for n in range(count)
        )
        seconds = _copy(conn, "annotation_queueitem", ITEM_COLUMNS, items)
        print(f"  {count:,} queue items by COPY in {seconds:.1f} s")
        first = conn.execute(
            "SELECT min(id) FROM annotation_queueitem WHERE queue_id = %s", [queue.pk]
        ).fetchone()
        assert first is not None
        first_item = first[0]
        good = json.dumps({"verdict": "good", "rating": 5})

        def annotations() -> object:
            for n in range(count):
                if n % 2:
                    values = good
                else:
                    values = json.dumps(
                        {
                            "verdict": "bad",
                            "reasons": ["incorrect"],
                            "rating": 2,
                            "correction": corrections[n % POOL],
                        }
                    )
                yield (
                    first_item + n,
                    annotators[n % 3].pk,
                    values,
                    guidelines[n % 3].pk,
                    21.5,
                    1,
                    NOW,
                    NOW,
                )

        seconds = _copy(conn, "annotation_annotation", ANNOTATION_COLUMNS, annotations())
        print(f"  {count:,} annotations by COPY in {seconds:.1f} s")
        started = time.perf_counter()
        conn.autocommit = True
        for table in ("interaction", "queueitem", "annotation"):
            conn.execute(f"VACUUM ANALYZE annotation_{table}")
        print(f"  VACUUM ANALYZE {time.perf_counter() - started:.1f} s")
    load_overlap(count // 3, engineer.pk)
    return {"project": project.pk, "queue": queue.pk, "engineer": engineer.pk}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process on this machine (the PostgreSQL backend)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def run_one(case: str, project_id: int, engineer_id: int, media: str) -> None:
    """In a fresh process: request an export and run it here, reporting figures as JSON."""
    os.environ["MEDIA_ROOT"] = media
    _setup()
    from django.contrib.auth import get_user_model

    from annotation.models import Export, Project, Queue
    from annotation.services.exports import export_create, export_run

    rss_start = _rss_mb()
    kind = CASES[case]
    data: dict[str, object] = {"kind": kind, "format": "jsonl"}
    if case == "overlap3":
        project = Project.objects.get(name=OVERLAP_PROJECT)
        queue = Queue.objects.get(project=project, name="triple")
        data.update(filters={"queues": [queue.pk], "min_agreement": 0.3}, redact_pii=True)
    else:
        project = Project.objects.get(pk=project_id)
    user = get_user_model().objects.get(pk=engineer_id)
    export = export_create(
        project=project,
        created_by=user,
        data={"project": project.name, **data},
        enqueue=False,
    )
    checkpoints: dict[str, float] = {}

    def progress(read: int, total: int, rows: int) -> None:
        if rows >= 100_000 and "rss_100k" not in checkpoints:
            checkpoints["rss_100k"] = _rss_mb()
            checkpoints["at_100k_s"] = time.perf_counter() - started

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    pg_cpu = _cpu_seconds(backend)
    cpu = time.process_time()
    started = time.perf_counter()
    export_run(export_id=export.pk, on_progress=progress)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    pg_cpu = _cpu_seconds(backend) - pg_cpu
    export = Export.objects.get(pk=export.pk)
    print(
        json.dumps(
            {
                "kind": case,
                "status": export.status,
                "error": export.error,
                "rows": export.rows,
                "wall_s": wall,
                "rows_per_s": export.rows / wall if wall else 0,
                "cpu_us_per_row": cpu / export.rows * 1e6 if export.rows else 0,
                "pg_cpu_us_per_row": pg_cpu / export.rows * 1e6 if export.rows else 0,
                "rss_start_mb": rss_start,
                "rss_end_mb": _rss_mb(),
                "peak_mb": peak_rss_mb(os.getpid()),
                "bytes": sum(f["bytes"] for f in export.manifest.get("files", [])),
                "items": export.manifest.get("counts", {}).get("items"),
                "excluded": export.manifest.get("counts", {}).get("excluded"),
                "redacted": export.manifest.get("counts", {}).get("redacted"),
                **checkpoints,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default="sft,annotations,overlap3")
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        kind, project_id, engineer_id, media = args.run
        run_one(kind, int(project_id), int(engineer_id), media)
        return

    ids = None
    if args.keep:
        ids = _existing(args.rows)
    if ids is None:
        print(f"Loading {args.rows:,} reviewed items into {BENCH_DATABASE_URL.rsplit('/', 1)[1]}")
        fresh_database()
        _setup()
        ids = load(args.rows)
    import tempfile

    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as media:
        print(
            f"{'kind':<12} {'rows':>10} {'wall s':>7} {'rows/s':>9} {'µs/row':>7} "
            f"{'PG µs':>6} {'MB out':>7} {'RSS 0':>6} {'RSS 100k':>8} {'RSS end':>8} "
            f"{'peak':>6}"
        )
        for kind in args.only.split(","):
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--run",
                    kind,
                    str(ids["project"]),
                    str(ids["engineer"]),
                    media,
                ],
                env=bench_env(MEDIA_ROOT=media),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise SystemExit(f"{kind} export failed:\n{result.stderr[-3000:]}")
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            if figures["status"] != "done":
                raise SystemExit(f"{kind} export {figures['status']}: {figures['error']}")
            print(
                f"{kind:<12} {figures['rows']:>10,} {figures['wall_s']:>7.1f} "
                f"{figures['rows_per_s']:>9,.0f} {figures['cpu_us_per_row']:>7.1f} "
                f"{figures['pg_cpu_us_per_row']:>6.1f} {figures['bytes'] / 1e6:>7,.0f} "
                f"{figures['rss_start_mb']:>6.0f} {figures.get('rss_100k', float('nan')):>8.0f} "
                f"{figures['rss_end_mb']:>8.0f} {figures['peak_mb']:>6.0f}"
            )
            if kind == "overlap3":
                print(
                    f"  overlap3 (sft, min_agreement 0.3, redact_pii): {figures['items']:,} "
                    f"items read, excluded {figures['excluded']}, redacted {figures['redacted']}"
                )
    print(
        "rows/s: rows written per second of the whole export (count, reading, settling, row\n"
        "building, duplicate filter, writing, fsync, rename, manifest); µs/row: CPU time of the\n"
        "exporting process per row, PG µs: of its PostgreSQL backend (they run side by side);\n"
        "RSS in MB of the exporting process before the export, after 100,000 rows and at the\n"
        f"end; peak = VmHWM. Load average before: {load_average:.2f} on {os.cpu_count()} CPUs."
    )


def _existing(count: int) -> dict[str, int] | None:
    try:
        with psycopg.connect(BENCH_DATABASE_URL) as conn:
            row = conn.execute(
                "SELECT p.id, q.id, (SELECT count(*) FROM annotation_queueitem WHERE queue_id = q.id),"
                " (SELECT m.user_id FROM annotation_membership m WHERE m.project_id = p.id"
                "  AND m.role = 'engineer' LIMIT 1)"
                " FROM annotation_project p JOIN annotation_queue q ON q.project_id = p.id"
                " WHERE p.name = 'bench' AND EXISTS (SELECT 1 FROM annotation_project"
                f" WHERE name = '{OVERLAP_PROJECT}')"
            ).fetchone()
    except psycopg.OperationalError:
        return None
    if row is None or row[2] != count:
        return None
    return {"project": row[0], "queue": row[1], "engineer": row[3]}


if __name__ == "__main__":
    _ = PG_ADMIN_URL
    main()
