from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage, InMemoryStorage

from annotation.exports.curation import DuplicateFilter, prompt_key, split_for
from annotation.exports.manifest import MANIFEST_NAME, build_manifest
from annotation.exports.rows import RowError, sft_row
from annotation.exports.storage import ExportStore
from annotation.exports.writers import FileResult, PartWriters
from tests.exports.samples import conversation, read_jsonl


class RecordingStorage(InMemoryStorage):
    """A storage that is not a local folder, and remembers the order of saves."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[str] = []

    def _save(self, name: str, content: Any) -> str:
        self.saved.append(name)
        return super()._save(name, content)


def _build(store: ExportStore, n: int = 200, *, fail_at: int | None = None) -> list[FileResult]:
    """What an export task does: rows, exclusions, duplicates, split, files, manifest."""
    store.begin()
    excluded: Counter[str] = Counter()
    seen = DuplicateFilter()
    with PartWriters(("sft", "jsonl"), store.staging_dir, parts=("train", "validation")) as out:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError("worker lost its database connection")
            try:
                row = sft_row(conversation(i % 150), "" if i % 50 == 0 else f"answer {i}")
            except RowError as exc:
                excluded[exc.reason] += 1
                continue
            key = prompt_key(row["messages"][:-1])
            if not seen.add(key):
                excluded["duplicate"] += 1
                continue
            out.write(split_for(key, validation=0.2, seed=7), row)
        files = out.commit()
    manifest = build_manifest(
        kind="sft", format="jsonl", files=files, excluded=excluded, created_by="eng1"
    )
    store.publish(files, manifest)
    return files


def _download(store: ExportStore, name: str) -> bytes:
    return b"".join(store.iter_chunks(name, chunk_size=1000))


def test_it_publishes_files_and_then_a_manifest_in_a_local_directory(tmp_path: Path) -> None:
    store = ExportStore("exports/1", directory=tmp_path)

    files = _build(store)

    folder = tmp_path / "exports" / "1"
    assert sorted(p.name for p in folder.iterdir()) == [
        MANIFEST_NAME,
        "train.jsonl",
        "validation.jsonl",
    ]
    manifest = store.manifest()
    assert manifest is not None
    assert manifest["counts"]["rows"] == 147
    assert manifest["counts"]["excluded"] == {"duplicate": 49, "empty_response": 4}
    assert sum(len(read_jsonl(folder / f.name)) for f in files) == 147
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
        assert _download(store, entry["name"]) == data
    assert 0 < manifest["files"][1]["rows"] < manifest["files"][0]["rows"]
    assert store.verify() == []


def test_it_publishes_through_the_default_filesystem_storage(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    store = ExportStore("exports/2")

    _build(store)

    assert store.is_local
    assert store.staging_dir == tmp_path / "exports" / "2"
    assert (tmp_path / "exports" / "2" / MANIFEST_NAME).is_file()
    assert store.verify() == []


def test_it_applies_the_storages_file_permissions(tmp_path: Path) -> None:
    store = ExportStore(
        "e", storage=FileSystemStorage(location=tmp_path, file_permissions_mode=0o640)
    )

    _build(store)

    assert {(p.stat().st_mode & 0o777) for p in (tmp_path / "e").iterdir()} == {0o640}


def test_it_uploads_to_a_remote_storage_with_the_manifest_last(tmp_path: Path) -> None:
    storage = RecordingStorage()
    store = ExportStore("exports/3", storage=storage)
    staging = store.staging_dir

    files = _build(store)

    assert not store.is_local
    assert storage.saved == [
        "exports/3/train.jsonl",
        "exports/3/validation.jsonl",
        "exports/3/manifest.json",
    ]
    assert not staging.exists()
    manifest = store.manifest()
    assert manifest is not None
    assert [f["name"] for f in manifest["files"]] == [f.name for f in files]
    for entry in manifest["files"]:
        assert hashlib.sha256(_download(store, entry["name"])).hexdigest() == entry["sha256"]
    assert store.verify() == []


def test_it_replaces_an_earlier_attempt_under_the_same_names(tmp_path: Path) -> None:
    storage = RecordingStorage()
    store = ExportStore("exports/4", storage=storage)
    _build(store, n=60)

    _build(ExportStore("exports/4", storage=storage), n=120)

    _, names = storage.listdir("exports/4")
    assert sorted(names) == [MANIFEST_NAME, "train.jsonl", "validation.jsonl"]
    manifest = store.manifest()
    assert manifest is not None
    assert manifest["counts"]["rows"] == 117


@pytest.mark.parametrize("remote", [False, True])
def test_a_crash_mid_export_leaves_no_manifest_and_no_final_file(
    tmp_path: Path, remote: bool
) -> None:
    store = (
        ExportStore("exports/5", storage=RecordingStorage())
        if remote
        else ExportStore("exports/5", directory=tmp_path)
    )

    with pytest.raises(RuntimeError, match="lost its database"):
        _build(store, fail_at=120)

    assert store.manifest() is None
    assert not store.is_done()
    staging = store.staging_dir
    assert list(staging.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="not finished"):
        store.open_for_download("train.jsonl")

    store.discard()  # what the failed task does next

    assert not staging.exists() if remote else list(staging.iterdir()) == []


def test_begin_clears_the_leftovers_of_a_killed_attempt(tmp_path: Path) -> None:
    store = ExportStore("exports/6", directory=tmp_path)
    _build(store)
    folder = tmp_path / "exports" / "6"
    (folder / ".train.jsonl.0123abcd.tmp").write_bytes(b'{"messages": [')

    store.begin()

    assert list(folder.iterdir()) == []
    assert store.manifest() is None


def test_it_serves_only_files_listed_in_the_manifest(tmp_path: Path) -> None:
    store = ExportStore("exports/7", directory=tmp_path)
    _build(store)
    (tmp_path / "secret.txt").write_text("no")

    with pytest.raises(FileNotFoundError, match=r"has no file '\.\./\.\./secret\.txt'"):
        store.open_for_download("../../secret.txt")
    with store.open_for_download(MANIFEST_NAME) as fh:
        assert b'"kind": "sft"' in fh.read()


def test_it_notices_a_file_changed_after_publishing(tmp_path: Path) -> None:
    store = ExportStore("exports/8", directory=tmp_path)
    _build(store)

    with open(tmp_path / "exports" / "8" / "validation.jsonl", "ab") as fh:
        fh.write(b"\n")

    assert store.verify() == ["validation.jsonl"]


def test_it_discards_a_failed_export(tmp_path: Path) -> None:
    storage = RecordingStorage()
    store = ExportStore("exports/9", storage=storage)
    _build(store)

    store.discard()

    assert storage.listdir("exports/9") == ([], [])
    assert store.manifest() is None


def test_it_refuses_prefixes_that_leave_the_export_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be a relative path"):
        ExportStore("exports/../..", directory=tmp_path)
