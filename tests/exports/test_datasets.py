"""Export files load with Hugging Face ``datasets`` in the shapes TRL and OpenAI expect."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest

from annotation.exports.rows import field_names
from annotation.exports.writers import open_writer
from tests.exports.samples import read_parquet, rows_of


@pytest.fixture
def hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # Offline, and every cache in the test's own folder.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    datasets = importlib.import_module("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    datasets.disable_progress_bars()
    return datasets


def _load(hf: ModuleType, builder: str, path: Path, cache: Path) -> Any:
    return hf.load_dataset(builder, data_files=str(path), split="train", cache_dir=str(cache))


def _export(tmp_path: Path, kind: str, fmt: str, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / f"train.{fmt}"
    with open_writer((kind, fmt), path) as writer:
        for row in rows:
            writer.write(row)
    writer.commit()
    return path


def _is_chat(turns: object, roles: set[str]) -> bool:
    return (
        isinstance(turns, list)
        and bool(turns)
        and all(set(t) == {"role", "content"} and t["role"] in roles for t in turns)
    )


def test_it_loads_sft_jsonl_as_openai_and_trl_chat_messages(tmp_path: Path, hf: ModuleType) -> None:
    rows = rows_of("sft", 20)

    ds = _load(hf, "json", _export(tmp_path, "sft", "jsonl", rows), tmp_path / "cache")

    assert ds.column_names == ["messages"]
    assert ds.num_rows == 20
    assert ds.to_list() == rows
    for example in ds:
        assert _is_chat(example["messages"], {"system", "user", "assistant"})
        assert example["messages"][-1]["role"] == "assistant"


def test_it_loads_preference_jsonl_in_trl_conversational_format(
    tmp_path: Path, hf: ModuleType
) -> None:
    rows = rows_of("preference", 20)

    ds = _load(hf, "json", _export(tmp_path, "preference", "jsonl", rows), tmp_path / "cache")

    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert ds.to_list() == rows
    for example in ds:
        assert _is_chat(example["prompt"], {"system", "user", "assistant"})
        assert _is_chat(example["chosen"], {"assistant"})
        assert _is_chat(example["rejected"], {"assistant"})
        assert len(example["chosen"]) == len(example["rejected"]) == 1


@pytest.mark.parametrize(
    "kind", ["sft", "preference", "openai_dpo", "eval", "retrieval", "annotations"]
)
def test_it_loads_every_kind_from_jsonl_and_parquet(
    tmp_path: Path, hf: ModuleType, kind: str
) -> None:
    rows = rows_of(kind, 12)
    (tmp_path / "j").mkdir()
    (tmp_path / "p").mkdir()
    jsonl = _export(tmp_path / "j", kind, "jsonl", rows)
    parquet = _export(tmp_path / "p", kind, "parquet", rows)

    from_jsonl = _load(hf, "json", jsonl, tmp_path / "cache-j")
    from_parquet = _load(hf, "parquet", parquet, tmp_path / "cache-p")

    assert from_jsonl.column_names == list(field_names(kind))
    assert from_parquet.column_names == list(field_names(kind))
    assert from_jsonl.num_rows == from_parquet.num_rows == 12
    assert from_parquet.to_list() == pq.read_table(parquet).to_pylist()


def test_it_loads_sft_parquet_with_messages_as_lists_of_dicts(
    tmp_path: Path, hf: ModuleType
) -> None:
    rows = rows_of("sft", 5)

    ds = _load(hf, "parquet", _export(tmp_path, "sft", "parquet", rows), tmp_path / "cache")

    assert ds.to_list() == rows
    assert read_parquet(tmp_path / "train.parquet", "sft") == rows
