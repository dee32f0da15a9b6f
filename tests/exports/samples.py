"""Rows of every export kind for the export tests, and readers that decode files back."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from annotation.exports.rows import (
    annotation_row,
    eval_row,
    fields_for,
    openai_dpo_row,
    preference_row,
    retrieval_rows,
    sft_row,
)

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def conversation(i: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": f'Question {i}: how do I reset my password? "quoted", comma'},
    ]


def rows_of(kind: str, n: int) -> list[dict[str, Any]]:
    return list(_rows(kind, n))


def _rows(kind: str, n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        if kind == "sft":
            yield sft_row(conversation(i), f"Answer {i}:\nOpen Settings → Security. ✓")
        elif kind == "preference":
            yield preference_row(conversation(i), f"good {i}", f"bad {i}")
        elif kind == "openai_dpo":
            yield openai_dpo_row(preference_row(conversation(i), f"good {i}", f"bad {i}"))
        elif kind == "eval":
            yield eval_row(
                conversation(i),
                None if i % 3 == 0 else f"reference {i}",
                id=f"req-{i}",
                response=f"response {i}",
                labels={"verdict": "bad" if i % 2 else "good", "rating": i % 5 + 1},
                reasons=["incorrect"] if i % 2 else [],
            )
        elif kind == "retrieval":
            docs = [{"id": f"kb-{i}", "text": f"Doc {i}, line\ntwo", "score": 0.5, "source": None}]
            yield from retrieval_rows(f"query {i}", docs, {f"kb-{i}": i % 2 == 0}, query_id=None)
        elif kind == "annotations":
            yield annotation_row(
                annotation_id=i,
                request_id=f"req-{i}",
                queue_id=1,
                queue="Weekly, review",
                item_id=100 + i,
                annotator="ann1",
                values={"verdict": "bad", "reasons": ["incorrect"], "rating": 2, "correction": "x"},
                created_at=START + timedelta(seconds=i),
                updated_at=START + timedelta(seconds=i, microseconds=250),
                item_reasons=["low_rated"],
                inclusion_probability=None if i % 2 else 0.25,
                guideline_version=3,
                revision=1,
                seconds=12.5,
                adjudication={"verdict": "good"} if i % 3 == 0 else None,
                metadata={"locale": "en-GB", "response_b": f"other {i}"},
            )
        else:
            raise ValueError(kind)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def read_csv(path: Path, kind: str) -> list[dict[str, Any]]:
    """Decode a CSV export back into row values, by the kind's field types."""
    types = {f.name: f.type for f in fields_for(kind)}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        assert header == list(types)
        return [
            {name: _cell(types[name], cell) for name, cell in zip(header, line, strict=True)}
            for line in reader
        ]


def _cell(kind: str, cell: str) -> Any:
    if cell == "":
        return None
    if kind in ("messages", "strings", "json"):
        return json.loads(cell)
    if kind == "int":
        return int(cell)
    if kind == "float":
        return float(cell)
    if kind == "bool":
        return {"true": True, "false": False}[cell]
    if kind == "timestamp":
        return datetime.fromisoformat(cell)
    return cell


def read_parquet(path: Path, kind: str) -> list[dict[str, Any]]:
    json_fields = [f.name for f in fields_for(kind) if f.type == "json"]
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        for name in json_fields:
            row[name] = json.loads(row[name]) if row[name] is not None else None
    return rows
