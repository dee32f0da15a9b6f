from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from annotation.exports.rows import KINDS, SCHEMA_VERSION, field_names, sft_row
from annotation.exports.writers import (
    FORMATS,
    FileResult,
    ParquetFileWriter,
    PartWriters,
    WriterStateError,
    arrow_schema,
    open_writer,
    relaxed_gc,
)
from tests.exports.samples import read_csv, read_jsonl, read_parquet, rows_of

ROOT = Path(__file__).resolve().parents[2]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(kind: str, fmt: str, path: Path, rows: list[dict[str, Any]], **kw: Any) -> FileResult:
    with open_writer((kind, fmt), path, **kw) as writer:
        for row in rows:
            writer.write(row)
    return writer.commit()


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            k: v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
            for k, v in r.items()
        }
        for r in rows
    ]


# --- round trips -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_it_writes_jsonl_that_reads_back_as_the_rows(tmp_path: Path, kind: str) -> None:
    rows = rows_of(kind, 25)

    result = _write(kind, "jsonl", tmp_path / "train.jsonl", rows)

    assert read_jsonl(tmp_path / "train.jsonl") == _jsonable(rows)
    assert result.rows == 25
    assert all(list(r) == list(field_names(kind)) for r in read_jsonl(tmp_path / "train.jsonl"))


def test_it_writes_timestamps_as_rfc3339_in_jsonl(tmp_path: Path) -> None:
    _write("annotations", "jsonl", tmp_path / "all.jsonl", rows_of("annotations", 2))

    first, second = read_jsonl(tmp_path / "all.jsonl")
    assert first["created_at"] == "2026-11-20T10:00:00Z"
    assert second["updated_at"] == "2026-11-20T10:00:01.000250Z"


@pytest.mark.parametrize("kind", KINDS)
def test_it_writes_csv_that_reads_back_as_the_rows(tmp_path: Path, kind: str) -> None:
    rows = rows_of(kind, 25)

    _write(kind, "csv", tmp_path / "train.csv", rows)

    assert read_csv(tmp_path / "train.csv", kind) == rows


def test_it_writes_csv_with_a_fixed_header_and_json_cells(tmp_path: Path) -> None:
    _write("sft", "csv", tmp_path / "all.csv", [sft_row("hi", "yo")])

    assert (tmp_path / "all.csv").read_bytes().decode() == (
        "messages\r\n"
        '"[{""role"":""user"",""content"":""hi""},{""role"":""assistant"",""content"":""yo""}]"\r\n'
    )


@pytest.mark.parametrize("kind", KINDS)
def test_it_writes_parquet_that_reads_back_as_the_rows(tmp_path: Path, kind: str) -> None:
    rows = rows_of(kind, 25)

    _write(kind, "parquet", tmp_path / "train.parquet", rows)

    assert read_parquet(tmp_path / "train.parquet", kind) == rows
    schema = pq.read_schema(tmp_path / "train.parquet")
    assert schema.equals(arrow_schema(kind), check_metadata=False)
    assert schema.metadata[b"kind"] == kind.encode()
    assert schema.metadata[b"schema_version"] == str(SCHEMA_VERSION).encode()


def test_it_writes_parquet_in_row_groups(tmp_path: Path) -> None:
    rows = rows_of("annotations", 35)

    _write("annotations", "parquet", tmp_path / "all.parquet", rows, row_group_rows=10)

    meta = pq.ParquetFile(tmp_path / "all.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10, 10, 10, 5]
    assert read_parquet(tmp_path / "all.parquet", "annotations") == rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_writes_a_valid_empty_file(tmp_path: Path, fmt: str) -> None:
    result = _write("eval", fmt, tmp_path / f"all.{fmt}", [])

    assert result.rows == 0
    path = tmp_path / f"all.{fmt}"
    if fmt == "jsonl":
        assert path.read_bytes() == b""
    elif fmt == "csv":
        assert read_csv(path, "eval") == []
    else:
        assert pq.read_table(path).num_rows == 0


# --- results and hashes ------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_reports_the_sha256_and_size_of_what_it_wrote(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"validation.{fmt}"

    # Enough rows to cross the 1 MiB output buffer several times.
    result = _write("sft", fmt, path, rows_of("sft", 30_000))

    assert result == FileResult(
        name=f"validation.{fmt}",
        part="validation",
        rows=30_000,
        sha256=_sha256(path),
        bytes=path.stat().st_size,
    )


# --- atomicity ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_keeps_the_final_name_free_until_commit(tmp_path: Path, fmt: str) -> None:
    writer = open_writer(("sft", fmt), tmp_path / f"train.{fmt}")
    writer.write(rows_of("sft", 1)[0])

    result = writer.close()

    assert not (tmp_path / f"train.{fmt}").exists()
    assert [p.name for p in tmp_path.iterdir()] == [writer.temp_path.name]
    assert writer.temp_path.name.startswith(f".train.{fmt}.")
    assert writer.commit() == result
    assert [p.name for p in tmp_path.iterdir()] == [f"train.{fmt}"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_leaves_nothing_when_aborted(tmp_path: Path, fmt: str) -> None:
    writer = open_writer(("annotations", fmt), tmp_path / f"train.{fmt}")
    for row in rows_of("annotations", 100):
        writer.write(row)

    writer.abort()

    assert list(tmp_path.iterdir()) == []
    with pytest.raises(WriterStateError):
        writer.write(rows_of("annotations", 1)[0])


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_leaves_nothing_when_the_with_block_raises(tmp_path: Path, fmt: str) -> None:
    with (
        pytest.raises(RuntimeError, match="database went away"),
        open_writer(("sft", fmt), tmp_path / f"train.{fmt}") as writer,
    ):
        for i, row in enumerate(rows_of("sft", 5_000)):
            writer.write(row)
            if i == 4_000:
                raise RuntimeError("database went away")

    assert list(tmp_path.iterdir()) == []


def test_it_leaves_no_final_file_when_the_process_is_killed(tmp_path: Path) -> None:
    script = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from annotation.exports.rows import sft_row
from annotation.exports.writers import open_writer
with open_writer(("sft", "jsonl"), {str(tmp_path / "train.jsonl")!r}) as writer:
    for i in range(1_000_000):
        writer.write(sft_row("q" * 500, f"answer {{i}}" * 100))
        if i == 5_000:
            print("ready", flush=True)
        if i > 5_000:
            time.sleep(0.001)
writer.commit()
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    assert proc.returncode == -signal.SIGKILL
    leftovers = list(tmp_path.iterdir())
    assert not (tmp_path / "train.jsonl").exists()
    assert not (tmp_path / "manifest.json").exists()
    # Only the hidden temp file, with a partial write in it.
    assert len(leftovers) == 1
    assert leftovers[0].name.startswith(".train.jsonl.")
    assert leftovers[0].name.endswith(".tmp")
    assert leftovers[0].stat().st_size > 0


# --- rows that do not fit ----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_refuses_a_row_that_does_not_fit_the_schema(tmp_path: Path, fmt: str) -> None:
    with open_writer(("sft", fmt), tmp_path / f"all.{fmt}") as writer:
        with pytest.raises(
            ValueError, match=r"unexpected keys \['id'\], missing keys \['messages'\]"
        ):
            writer.write({"id": 1})
        writer.write(rows_of("sft", 1)[0])

    assert writer.commit().rows == 1


def test_it_names_the_value_it_cannot_encode(tmp_path: Path) -> None:
    row = rows_of("eval", 1)[0]
    row["labels"] = {"x": object()}

    with (
        pytest.raises(TypeError, match="cannot export a value of type object"),
        open_writer(("eval", "jsonl"), tmp_path / "all.jsonl") as writer,
    ):
        writer.write(row)

    assert list(tmp_path.iterdir()) == []


def test_it_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format 'xlsx'"):
        open_writer(("sft", "xlsx"), tmp_path / "a.xlsx")


# --- parts -------------------------------------------------------------------------


def test_it_writes_one_file_per_part_even_an_empty_one(tmp_path: Path) -> None:
    rows = rows_of("preference", 10)
    with PartWriters(
        ("preference", "jsonl"), tmp_path, parts=("train", "validation", "test")
    ) as out:
        for i, row in enumerate(rows):
            out.write("validation" if i % 5 == 0 else "train", row)
    results = out.commit()

    assert [(r.name, r.part, r.rows) for r in results] == [
        ("train.jsonl", "train", 8),
        ("validation.jsonl", "validation", 2),
        ("test.jsonl", "test", 0),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert read_jsonl(tmp_path / "validation.jsonl") == [rows[0], rows[5]]


def test_it_aborts_every_part_when_the_export_fails(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="unknown part 'holdout'"),
        PartWriters(("sft", "parquet"), tmp_path, parts=("train", "validation")) as out,
    ):
        out.write("train", rows_of("sft", 1)[0])
        out.write("holdout", rows_of("sft", 1)[0])

    assert list(tmp_path.iterdir()) == []


def test_it_refuses_part_names_that_are_not_plain(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"part '\.\./x'"):
        PartWriters(("sft", "jsonl"), tmp_path, parts=("../x",))


def test_a_committed_file_matches_its_json_result(tmp_path: Path) -> None:
    result = _write("retrieval", "jsonl", tmp_path / "all.jsonl", rows_of("retrieval", 3))

    assert json.loads(json.dumps(result.to_dict())) == {
        "name": "all.jsonl",
        "part": "all",
        "rows": 3,
        "sha256": _sha256(tmp_path / "all.jsonl"),
        "bytes": (tmp_path / "all.jsonl").stat().st_size,
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_skips_a_row_whose_value_cannot_be_written_and_goes_on(tmp_path: Path, fmt: str) -> None:
    good = rows_of("eval", 3)
    bad = {**good[1], "labels": {"when": object()}}
    path = tmp_path / f"all.{fmt}"

    with open_writer(("eval", fmt), path) as writer:
        writer.write(good[0])
        with pytest.raises(TypeError, match="object"):
            writer.write(bad)
        writer.write(good[2])
    result = writer.commit()

    assert result.rows == 2
    read = {
        "jsonl": read_jsonl,
        "csv": lambda p: read_csv(p, "eval"),
        "parquet": lambda p: read_parquet(p, "eval"),
    }
    assert read[fmt](path) == [good[0], good[2]]


def test_it_undoes_a_half_added_parquet_row(tmp_path: Path) -> None:
    rows = rows_of("preference", 3)
    broken = {
        **rows[1],
        "rejected": [{"role": "assistant", "content": "ok"}, {"role": "assistant"}],
    }

    with open_writer(("preference", "parquet"), tmp_path / "all.parquet") as writer:
        writer.write(rows[0])
        with pytest.raises(TypeError, match="rejected holds list"):
            writer.write(broken)
        with pytest.raises(TypeError, match=r"prompt holds NoneType None.*not nullable"):
            writer.write({**rows[1], "prompt": None})
        writer.write(rows[2])
    writer.commit()

    assert read_parquet(tmp_path / "all.parquet", "preference") == [rows[0], rows[2]]


def test_it_keeps_nulls_in_parquet_columns_that_allow_them(tmp_path: Path) -> None:
    rows = rows_of("annotations", 4)
    rows[2] = {**rows[2], "seconds": None, "guideline_version": None, "inclusion_probability": None}

    _write("annotations", "parquet", tmp_path / "all.parquet", rows)

    assert read_parquet(tmp_path / "all.parquet", "annotations") == rows


def test_it_does_not_import_pandas_to_write_parquet(tmp_path: Path) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
sys.path.insert(0, {str(ROOT / "tests" / "exports")!r})
from annotation.exports.writers import open_writer
from samples import rows_of
for kind in ("sft", "preference", "eval", "retrieval", "annotations"):
    with open_writer((kind, "parquet"), {str(tmp_path)!r} + f"/{{kind}}.parquet") as w:
        for row in rows_of(kind, 10):
            w.write(row)
    w.commit()
print("pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    # pa.array() imports pandas when installed: ~50 MB more in every export worker.
    assert out.stdout.strip() == "False"


def test_it_keeps_nulls_aligned_after_undoing_a_parquet_row(tmp_path: Path) -> None:
    rows = rows_of("eval", 4)  # rows 0 and 3 have no reference
    broken = {**rows[0], "reasons": "incorrect"}

    with open_writer(("eval", "parquet"), tmp_path / "all.parquet") as writer:
        writer.write(rows[0])
        with pytest.raises(TypeError, match="reasons holds str"):
            writer.write(broken)
        for row in rows[1:]:
            writer.write(row)
    writer.commit()

    assert read_parquet(tmp_path / "all.parquet", "eval") == rows


def test_it_cuts_parquet_row_groups_by_size_too(tmp_path: Path) -> None:
    rows = rows_of("sft", 1)
    big = {"messages": [*rows[0]["messages"][:-1], {"role": "assistant", "content": "x" * 100_000}]}

    with ParquetFileWriter("sft", tmp_path / "all.parquet", row_group_bytes=1 << 20) as writer:
        for _ in range(200):
            writer.write(big)
    writer.commit()

    meta = pq.ParquetFile(tmp_path / "all.parquet").metadata
    assert meta.num_rows == 200
    assert meta.num_row_groups > 1


def test_it_writes_csv_exactly_as_the_csv_module_would(tmp_path: Path) -> None:
    tricky = [
        "plain",
        'a "quote"',
        "comma, here",
        "line\nbreak",
        "cr\rhere",
        " spaced ",
        "",
        "ünï ✓",
        '"',
    ]
    rows = [
        {
            "query_id": None if i % 2 else text,
            "query": text or "q",
            "doc_id": f"d{i}",
            "doc_text": text,
            "relevant": i % 3 == 0,
            "rank": i,
            "score": i / 7,
            "source": text,
        }
        for i, text in enumerate(tricky)
    ]

    _write("retrieval", "csv", tmp_path / "all.csv", rows)

    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(field_names("retrieval"))
    for row in rows:
        writer.writerow(
            ["true" if v is True else "false" if v is False else v for v in row.values()]
        )
    assert (tmp_path / "all.csv").read_bytes() == expected.getvalue().encode()
    assert read_csv(tmp_path / "all.csv", "retrieval") == [
        {k: (v if v != "" else None) for k, v in row.items()} for row in rows
    ]


def test_it_rejects_only_the_csv_row_that_is_not_valid_unicode(tmp_path: Path) -> None:
    with open_writer(("sft", "csv"), tmp_path / "all.csv") as writer:
        writer.write(sft_row("ok", "fine"))
        with pytest.raises(UnicodeEncodeError):
            writer.write(sft_row("bad \udc80", "x"))
        writer.write(sft_row("ok again", "fine"))

    assert writer.commit().rows == 2
    assert len(read_csv(tmp_path / "all.csv", "sft")) == 2


def test_it_names_the_parquet_field_that_refused_a_value(tmp_path: Path) -> None:
    rows = rows_of("annotations", 2)

    with open_writer(("annotations", "parquet"), tmp_path / "all.parquet") as writer:
        with pytest.raises(TypeError, match="row 0: annotator holds NoneType None"):
            writer.write({**rows[0], "annotator": None})
        with pytest.raises(TypeError, match=r"created_at holds datetime .* an aware datetime"):
            writer.write({**rows[0], "created_at": datetime(2026, 1, 1)})
        with pytest.raises(TypeError, match="annotation_id holds str '7'"):
            writer.write({**rows[0], "annotation_id": "7"})
        writer.write(rows[1])
    writer.commit()

    assert read_parquet(tmp_path / "all.parquet", "annotations") == [rows[1]]


def test_it_stores_timestamps_to_the_exact_microsecond(tmp_path: Path) -> None:
    rng = random.Random(7)
    start = datetime(1950, 1, 1, tzinfo=UTC)
    moments = [
        start + timedelta(microseconds=rng.randrange(250 * 365 * 86_400 * 10**6))
        for _ in range(5_000)
    ]
    moments += [
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
    ]
    moments.append(datetime(2026, 6, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-7))))
    base = rows_of("annotations", 1)[0]
    rows = [{**base, "created_at": m, "updated_at": m} for m in moments]

    _write("annotations", "parquet", tmp_path / "all.parquet", rows)

    assert [
        r["created_at"] for r in read_parquet(tmp_path / "all.parquet", "annotations")
    ] == moments


def test_relaxed_gc_restores_the_collector_as_it_was() -> None:
    before = gc.get_threshold()

    with relaxed_gc(threshold=12_345):
        assert gc.get_threshold()[0] == 12_345
        assert gc.get_freeze_count() > 0

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
