"""Privacy: ingestion with redaction on and off, and erasing one user with many rows.

    .venv/bin/python bench/privacy.py [--interactions 20000] [--user-rows 10000]

Recreates a scratch PostgreSQL database (`feedbackloop_bench_privacy`, `BENCH_DB` to change it)
and, in this process, stores `--interactions` realistic interactions (in three rounds per mode, alternating, after a
warm-up batch) (~300-char prompt, ~800-char
response, metadata; 5% carrying an e-mail address and a phone number) through the ingestion
service in batches of 1,000 (what the API calls once a batch is decoded: row building, COPY,
feedback linking, queueing the checks on a Redis broker, marking rollups), once into a project
in `store` mode and once into one in `redact` mode, and prints interactions/s for each.

Then it stores `--user-rows` interactions of one user, each with a rating, a comment and a
`pii` flag, one in ten in a done queue item with an annotation, among as many of other users,
builds their rollups and an export, and times `privacy_erase` of that user (batches of
`PRIVACY_BATCH_SIZE`, rollup hours recomputed, the export marked), printing rows deleted per
second. Celery messages go to `BENCH_BROKER_URL` (redis db 13), purged at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB", "feedbackloop_bench_privacy")
from bench._harness import bench_env, fresh_database, interaction

BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
BATCH = 1000
ROUNDS = 3
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def personal(rng: random.Random, n: int, prefix: str) -> dict[str, object]:
    row = interaction(rng, n, prefix)
    row["timestamp"] = (START + timedelta(seconds=n * 7)).isoformat()
    if n % 20 == 0:
        messages = row["messages"]
        assert isinstance(messages, list)
        messages[1]["content"] += f" Write to jane.doe{n}@example.com or call +44 20 7946 0958."
        row["response"] = f"I have noted jane.doe{n}@example.com. " + str(row["response"])
    return row


def ingest_rate(project: object, rows: list[dict[str, object]]) -> float:
    import msgspec

    from annotation.schemas.ingestion import InteractionIn
    from annotation.services.ingestion import interactions_ingest

    items = [msgspec.convert(row, InteractionIn) for row in rows]
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        interactions_ingest(project=project, items=items[start : start + BATCH])  # type: ignore[arg-type]
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--interactions", type=int, default=20_000)
    parser.add_argument("--user-rows", type=int, default=10_000)
    args = parser.parse_args()

    os.environ.update(bench_env(CELERY_BROKER_URL=BROKER, REDIS_URL=""))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "feedbackloop.settings")
    fresh_database()
    import django

    django.setup()
    from django.db import connection

    from annotation.models import (
        Annotation,
        Check,
        Feedback,
        Flag,
        Interaction,
        PrivacyMode,
        QueueItem,
    )
    from annotation.models.review import ItemState, Queue
    from annotation.services.erasure import privacy_erase
    from annotation.services.exports import export_create, export_run
    from annotation.services.projects import project_create
    from annotation.services.rollups import rollups_rebuild
    from annotation.services.secrets import pseudonymise
    from feedbackloop.celery import app

    rng = random.Random(7)
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}; ", end="")
    print(f"load average {os.getloadavg()[0]:.1f}")

    projects = {}
    for mode in (PrivacyMode.STORE, PrivacyMode.REDACT):
        projects[mode] = project_create(name=f"bench-{mode}").obj.project
        projects[mode].privacy_mode = mode
        projects[mode].save(update_fields=["privacy_mode"])
    # Warm up (imports, the phone-number metadata, the connection), then alternate the modes so
    # both see the same machine load; each mode's rate is the median of its rounds.
    warm = project_create(name="bench-warm").obj.project
    warm.privacy_mode = PrivacyMode.REDACT
    warm.save(update_fields=["privacy_mode"])
    ingest_rate(warm, [personal(rng, n, "warm") for n in range(BATCH)])
    rates: dict[str, list[float]] = {PrivacyMode.STORE: [], PrivacyMode.REDACT: []}
    per_round = args.interactions // ROUNDS
    for round_ in range(ROUNDS):
        for mode in (PrivacyMode.STORE, PrivacyMode.REDACT):
            rows = [personal(rng, n, f"{mode}-{round_}") for n in range(per_round)]
            rates[mode].append(ingest_rate(projects[mode], rows))
    for mode, found in rates.items():
        print(
            f"ingestion, {mode:>6} mode: {statistics.median(found):,.0f} interactions/s "
            f"(rounds: {', '.join(f'{r:,.0f}' for r in found)})"
        )
    store, redact = (statistics.median(rates[m]) for m in (PrivacyMode.STORE, PrivacyMode.REDACT))
    redacted = Interaction.objects.filter(
        project__name="bench-redact", redactions__kinds__has_key="email"
    ).count()
    print(
        f"redaction costs {100 * (1 - redact / store):.0f}% of the rate "
        f"({redacted:,} of {per_round * ROUNDS:,} interactions had values replaced)"
    )

    # -- erasure of one user with many rows ----------------------------------------------------
    project = project_create(name="bench-erase").obj.project
    user_rows = [{**personal(rng, n, "mine"), "user_id": "the-user"} for n in range(args.user_rows)]
    others = [personal(rng, n, "theirs") for n in range(args.user_rows)]
    ingest_rate(project, user_rows + others)
    mine = list(
        Interaction.objects.filter(project=project, user_id=pseudonymise("the-user")).values_list(
            "pk", "request_id"
        )
    )
    now = datetime.now(UTC)
    Feedback.objects.bulk_create(
        [
            Feedback(
                project=project,
                request_id=request_id,
                interaction_id=pk,
                kind=kind,
                value=0 if kind == "rating" else None,
                scale="thumbs" if kind == "rating" else "",
                normalized_score=0.0 if kind == "rating" else None,
                text="Wrong" if kind == "comment" else "",
                user_id=pseudonymise("the-user"),
                timestamp=now,
                received_at=now,
            )
            for pk, request_id in mine
            for kind in ("rating", "comment")
        ],
        batch_size=5000,
    )
    check = Check.objects.filter(project=project, type="pii").first()
    assert check is not None
    Flag.objects.bulk_create(
        [
            Flag(
                project=project,
                interaction_id=pk,
                check_config=check,
                flagged=True,
                severity=check.severity,
                score=1.0,
                created_at=now,
            )
            for pk, _ in mine
        ],
        batch_size=5000,
    )
    queue = Queue.objects.create(
        project=project,
        name="weekly",
        sources=[{"type": "random", "rate": 0.1}],
        schema={"fields": [{"name": "verdict", "type": "choice", "options": ["good", "bad"]}]},
        overlap=1,
    )
    from django.contrib.auth import get_user_model

    annotator = get_user_model().objects.create(username="ann")
    items = QueueItem.objects.bulk_create(
        [
            QueueItem(
                queue=queue,
                interaction_id=pk,
                reasons=["random"],
                inclusion_probability=0.1,
                state=ItemState.DONE,
                annotations_wanted=1,
                annotations_done=1,
                created_at=now,
                updated_at=now,
            )
            for pk, _ in mine[::10]
        ]
    )
    Annotation.objects.bulk_create(
        [
            Annotation(
                item=item,
                annotator=annotator,
                values={"verdict": "good"},
                seconds=3.0,
                created_at=now,
                updated_at=now,
            )
            for item in items
        ]
    )
    rollups_rebuild(project=project, since=START, until=START + timedelta(days=3))
    export = export_create(
        project=project,
        created_by=None,
        data={"project": project.name, "kind": "eval"},
        enqueue=False,
    )
    export_run(export_id=export.pk)
    started = time.perf_counter()
    erasure = privacy_erase(project=project, actor=None, user_id="the-user")
    seconds = time.perf_counter() - started
    counts = erasure.as_dict()
    total = sum(counts.values())
    print(
        f"erasure of one user with {args.user_rows:,} interactions: {seconds:.2f} s, "
        f"{total:,} rows ({total / seconds:,.0f} rows/s), {len(erasure.hours)} rollup hours "
        f"recomputed, {len(erasure.exports)} export marked"
    )
    print("  " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    app.control.purge()


if __name__ == "__main__":
    main()
