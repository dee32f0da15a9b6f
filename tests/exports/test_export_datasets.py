"""Exports built from the database load with Hugging Face ``datasets`` in TRL's shapes, and
their CSV and Parquet files hold the same rows as JSONL."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from annotation.exports.rows import field_names
from annotation.models import Project
from tests.conftest import Persona
from tests.exports.conftest import Reviews, build, local_path, rows

KINDS = ["sft", "preference", "openai_dpo", "eval", "retrieval", "annotations"]
DOCS = [
    {"id": "kb-1", "text": "Reset links expire after an hour.", "score": 0.9, "source": "kb"},
    {"id": "kb-2", "text": "Billing happens monthly.", "score": 0.3, "source": "kb"},
]


@pytest.fixture
def datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Hugging Face ``datasets``, offline, with every cache in the test's own folder."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    module = importlib.import_module("datasets")
    monkeypatch.setattr(module.config, "HF_DATASETS_OFFLINE", True)
    module.disable_progress_bars()
    return module


@pytest.fixture
def everything(reviews: Reviews) -> Reviews:
    """Items that give rows of every kind."""
    for n in range(12):
        reviews.item(
            f"Question {n}: how do I reset my password?",
            f"Answer {n}: open Settings.",
            annotations=[
                {
                    "verdict": "bad" if n % 2 else "good",
                    "reasons": ["incorrect"] if n % 2 else [],
                    "rating": n % 5 + 1,
                    **({"correction": f"Corrected {n}: use the link."} if n % 2 else {}),
                    "preference": ["A", "B", "tie"][n % 3],
                    "relevance": {"kb-1": "relevant", "kb-2": "irrelevant"},
                },
                {"verdict": "bad" if n % 2 else "good", "rating": 3},
            ],
            metadata={"response_b": f"Other answer {n}.", "locale": "en-GB"},
            retrieved_context=DOCS,
        )
    return reviews


def load(datasets: ModuleType, builder: str, path: Path, cache: Path) -> Any:
    return datasets.load_dataset(builder, data_files=str(path), split="train", cache_dir=str(cache))


def is_chat(turns: Any, roles: set[str]) -> bool:
    return (
        isinstance(turns, list)
        and bool(turns)
        and all(set(t) == {"role", "content"} and t["role"] in roles for t in turns)
    )


def test_sft_loads_as_trl_and_openai_chat_messages(
    everything: Reviews, project: Project, engineer: Persona, datasets: ModuleType, tmp_path: Path
) -> None:
    export = build(project, engineer, kind="sft", split={"validation": 0.25, "seed": 7})

    split = datasets.load_dataset(
        "json",
        data_files={
            part: str(local_path(export, f"{part}.jsonl")) for part in ("train", "validation")
        },
        cache_dir=str(tmp_path / "cache"),
    )

    assert split["train"].num_rows + split["validation"].num_rows == 12
    for part in ("train", "validation"):
        # TRL's SFTTrainer and OpenAI fine-tuning: "messages" and nothing else.
        assert split[part].column_names == ["messages"]
        assert split[part].to_list() == rows(export, part)
        for example in split[part]:
            assert is_chat(example["messages"], {"system", "user", "assistant"})
            assert example["messages"][-1]["role"] == "assistant"


def test_preference_loads_in_trl_conversational_preference_format(
    everything: Reviews, project: Project, engineer: Persona, datasets: ModuleType, tmp_path: Path
) -> None:
    export = build(project, engineer, kind="preference")

    dataset = load(datasets, "json", local_path(export, "all.jsonl"), tmp_path / "cache")

    assert dataset.column_names == ["prompt", "chosen", "rejected"]
    assert dataset.num_rows == len(rows(export)) > 0
    for example in dataset:
        assert is_chat(example["prompt"], {"system", "user", "assistant"})
        assert is_chat(example["chosen"], {"assistant"}) and len(example["chosen"]) == 1
        assert is_chat(example["rejected"], {"assistant"}) and len(example["rejected"]) == 1
        assert example["chosen"] != example["rejected"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_loads_from_jsonl_and_parquet(
    everything: Reviews,
    project: Project,
    engineer: Persona,
    datasets: ModuleType,
    tmp_path: Path,
    kind: str,
) -> None:
    jsonl = build(project, engineer, kind=kind, format="jsonl")
    parquet = build(project, engineer, kind=kind, format="parquet")

    from_jsonl = load(datasets, "json", local_path(jsonl, "all.jsonl"), tmp_path / "j")
    from_parquet = load(datasets, "parquet", local_path(parquet, "all.parquet"), tmp_path / "p")

    assert from_jsonl.column_names == from_parquet.column_names == list(field_names(kind))
    assert from_jsonl.num_rows == from_parquet.num_rows == jsonl.rows > 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_hold_the_same_rows_as_jsonl(
    everything: Reviews, project: Project, engineer: Persona, kind: str, fmt: str
) -> None:
    reference = rows(build(project, engineer, kind=kind, format="jsonl"))
    other = rows(build(project, engineer, kind=kind, format=fmt))

    if kind == "annotations":
        # JSONL spells timestamps as text; CSV and Parquet give them back as datetimes.
        for row in other:
            for name in ("created_at", "updated_at"):
                row[name] = row[name].isoformat().replace("+00:00", "Z")
    assert other == reference
