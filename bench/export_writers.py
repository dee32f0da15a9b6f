"""Throughput and memory of the export writers, without a database.

Run: .venv/bin/python bench/export_writers.py [--rows 1000000] [--only sft-jsonl,...]

Each scenario runs in its own process (so its peak RSS is its own) and builds rows
with the real row builders from synthetic records, then streams them through the real
writers to a temp folder, fsync and atomic rename included:

- sft-jsonl            ~1 KB chat rows (system, user, assistant) to one JSONL file
- sft-jsonl-curated    the same plus prompt keys, duplicate filter and a 90/10 split
                       into train.jsonl and validation.jsonl (the filter grows ~100 MB)
- sft-jsonl-redacted   the same rows with PII redaction of every turn (5% carry PII)
- sft-parquet, sft-csv the same rows in the other formats
- annotations-jsonl    annotation rows (~700 B as JSON) to JSONL
- annotations-parquet  the same rows to Parquet (zstd, row groups of 50,000)
- annotations-csv

Records come from a synthetic source in chunks of 10,000 (standing in for the
database), and the loop runs inside ``relaxed_gc()`` as an export task would. For each
scenario it prints rows/s of the engine (row builders, curation, writers) by wall
clock and by CPU time, of building and of writing alone, the wall time, the output
size, the resident set size before, after 10% of the rows (100,000 of 1,000,000) and
at the end (/proc/self/statm), and the peak (resource.getrusage ru_maxrss). The
10,000-record chunk the source holds counts in the RSS, as a queryset chunk would.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotation.exports.curation import (
    DuplicateFilter,
    prompt_key,
    redact_row,
    split_for,
)
from annotation.exports.rows import annotation_row, sft_row
from annotation.exports.writers import PartWriters, relaxed_gc
from bench._harness import WORDS

SYSTEM = (
    "You are the support assistant of a file-sync product. Answer briefly, cite the "
    "relevant settings page, and never invent features."
)
POOL = 1_000
PAGE = os.sysconf("SC_PAGE_SIZE")


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words).capitalize() + "."


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux


Record = Any
CHUNK = 10_000


def sft_records(n: int, seed: int = 7, pii_every: int = 0) -> Iterator[list[Record]]:
    """Chunks of (messages, final text): what the task would read from the database."""
    rng = random.Random(seed)
    questions = [_text(rng, 330) for _ in range(POOL)]
    answers = [_text(rng, 480) for _ in range(POOL)]
    for lo in range(0, n, CHUNK):
        chunk = []
        for i in range(lo, min(n, lo + CHUNK)):
            # Every prompt is distinct (the worst case for the duplicate filter).
            question = f"{questions[i % POOL]} (ticket {i})"
            if pii_every and i % pii_every == 0:
                question += f" Mail me at user{i}@example.com or call +44 20 7946 0958."
            messages = [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": question},
                {"role": "assistant", "content": answers[(i * 7) % POOL]},
            ]
            chunk.append((messages, answers[(i * 13) % POOL]))
        yield chunk


def annotation_records(n: int, seed: int = 7) -> Iterator[list[Record]]:
    """Chunks of annotation_row keyword arguments (a queryset's .values())."""
    rng = random.Random(seed)
    corrections = [_text(rng, 300) for _ in range(POOL)]
    start = datetime(2026, 11, 20, tzinfo=UTC)
    for lo in range(0, n, CHUNK):
        chunk = []
        for i in range(lo, min(n, lo + CHUNK)):
            chunk.append(
                {
                    "annotation_id": i + 1,
                    "request_id": f"req-{i:09d}",
                    "queue_id": 3,
                    "queue": "Weekly review",
                    "item_id": i // 3 + 1,
                    "annotator": f"ann{i % 3 + 1}",
                    "values": {
                        "verdict": "bad" if i % 4 else "good",
                        "reasons": ["incorrect", "unhelpful"][: i % 3],
                        "rating": i % 5 + 1,
                        "correction": corrections[i % POOL],
                        "comment": "",
                    },
                    "created_at": start + timedelta(seconds=i),
                    "updated_at": start + timedelta(seconds=i, milliseconds=400),
                    "item_reasons": ["low_rated"] if i % 2 else ["random"],
                    "inclusion_probability": 1.0 if i % 2 else 0.01,
                    "guideline_version": 3,
                    "revision": 1,
                    "seconds": 21.5,
                }
            )
        yield chunk


def _sft(record: Record) -> dict[str, Any]:
    return sft_row(*record)


def _sft_redacted(record: Record) -> dict[str, Any]:
    row, _ = redact_row("sft", sft_row(*record))
    return row


def _annotation(record: Record) -> dict[str, Any]:
    return annotation_row(**record)


def _run(
    kind: str,
    fmt: str,
    chunks: Iterator[list[Record]],
    build: Callable[[Record], dict[str, Any]],
    n: int,
    folder: Path,
    route: Callable[[dict[str, Any]], str | None] | None = None,
) -> dict[str, Any]:
    """Times the engine (row builders, curation, writers) apart from the synthetic source."""
    parts = ("train", "validation") if route else ("all",)
    build_s = curate_s = write_s = cpu_s = 0.0
    done = 0
    rss_checkpoint = 0.0
    start = time.perf_counter()
    with relaxed_gc(), PartWriters((kind, fmt), folder, parts=parts) as out:
        for chunk in chunks:
            c0, t0 = time.process_time(), time.perf_counter()
            rows = [build(record) for record in chunk]
            t1 = time.perf_counter()
            routed = (
                [(route(row), row) for row in rows] if route else [("all", row) for row in rows]
            )
            t2 = time.perf_counter()
            write = out.write
            for part, row in routed:
                if part is not None:
                    write(part, row)
            t3 = time.perf_counter()
            cpu_s += time.process_time() - c0
            build_s += t1 - t0
            curate_s += t2 - t1
            write_s += t3 - t2
            done += len(chunk)
            if not rss_checkpoint and done >= n // 10:
                rss_checkpoint = _rss_mb()
        c0, t0 = time.process_time(), time.perf_counter()
        files = out.commit()  # last row groups, fsync, rename
        write_s += time.perf_counter() - t0
        cpu_s += time.process_time() - c0
    wall = time.perf_counter() - start
    engine = build_s + curate_s + write_s
    return {
        "rows": n,
        "written": sum(f.rows for f in files),
        "wall_s": wall,
        "engine_rows_per_s": n / engine,
        "engine_cpu_rows_per_s": n / cpu_s,
        "build_rows_per_s": n / build_s,
        "write_rows_per_s": n / write_s,
        "curate_rows_per_s": n / curate_s if route else None,
        "mb": sum(f.bytes for f in files) / 1e6,
        "rss_at_10pct_mb": rss_checkpoint,
        "rss_end_mb": _rss_mb(),
    }


def scenario(name: str, n: int, folder: Path) -> dict[str, Any]:
    if name in ("sft-jsonl", "sft-parquet", "sft-csv"):
        return _run("sft", name.split("-")[1], sft_records(n), _sft, n, folder)
    if name == "sft-jsonl-redacted":
        return _run("sft", "jsonl", sft_records(n, pii_every=20), _sft_redacted, n, folder)
    if name == "sft-jsonl-curated":
        seen = DuplicateFilter()

        def route(row: dict[str, Any]) -> str | None:
            key = prompt_key(row["messages"][:-1])
            if not seen.add(key):
                return None
            return split_for(key, validation=0.1, seed=7)

        return _run("sft", "jsonl", sft_records(n), _sft, n, folder, route)
    if name.startswith("annotations-"):
        fmt = name.split("-")[1]
        return _run("annotations", fmt, annotation_records(n), _annotation, n, folder)
    raise SystemExit(f"unknown scenario {name!r}")


SCENARIOS = (
    "sft-jsonl",
    "sft-jsonl-curated",
    "sft-jsonl-redacted",
    "sft-parquet",
    "sft-csv",
    "annotations-jsonl",
    "annotations-parquet",
    "annotations-csv",
)
COLUMNS = (
    ("scenario", 21, "{}"),
    ("engine/s", 10, "{:,.0f}"),
    ("cpu/s", 10, "{:,.0f}"),
    ("build/s", 10, "{:,.0f}"),
    ("write/s", 10, "{:,.0f}"),
    ("wall s", 8, "{:.1f}"),
    ("MB out", 8, "{:,.0f}"),
    ("RSS 0", 7, "{:.0f}"),
    ("RSS 10%", 8, "{:.0f}"),
    ("RSS end", 8, "{:.0f}"),
    ("peak", 6, "{:.0f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help="where to write (default: a temp folder, removed after)")
    args = parser.parse_args()

    if args.scenario:
        baseline = _rss_mb()
        result = scenario(args.scenario, args.rows, Path(args.dir))
        result["rss_before_mb"] = baseline
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return

    print(
        f"{args.rows:,} rows per scenario; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        "".join(
            f"{title:<{width}}" if i == 0 else f"{title:>{width}}"
            for i, (title, width, _) in enumerate(COLUMNS)
        )
    )
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-export-", dir=args.dir) as folder:
            command = [sys.executable, __file__, "--scenario", name, "--rows", str(args.rows)]
            out = subprocess.run(
                [*command, "--dir", folder], check=True, capture_output=True, text=True
            ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        values = (
            name,
            r["engine_rows_per_s"],
            r["engine_cpu_rows_per_s"],
            r["build_rows_per_s"],
            r["write_rows_per_s"],
            r["wall_s"],
            r["mb"],
            r["rss_before_mb"],
            r["rss_at_10pct_mb"],
            r["rss_end_mb"],
            r["peak_mb"],
        )
        print(
            "".join(
                f"{fmt.format(v):<{width}}" if i == 0 else f"{fmt.format(v):>{width}}"
                for i, ((_, width, fmt), v) in enumerate(zip(COLUMNS, values, strict=True))
            )
        )
    print(
        "engine/s: rows per second of row building + curation + writing (fsync and rename\n"
        "included), without the synthetic source; cpu/s: the same per second of this\n"
        "process's CPU time (steadier on a shared machine); build/s and write/s: each step.\n"
        "RSS in MB: before writing, after 10% of the rows, at the end; peak = ru_maxrss."
    )


if __name__ == "__main__":
    main()
