"""Where finished exports live: a local directory or any Django storage backend.

An export is a folder, ``<prefix>/`` (e.g. ``exports/42/``), holding its data files and
``manifest.json``. The manifest is stored last, so a folder without one is unfinished
or failed and nothing in it is served.

Writers produce files in ``store.staging_dir``:

- For a local directory or Django's ``FileSystemStorage`` that is the final folder
  itself: writers rename their temp files into place (``os.replace``, atomic on one
  filesystem) and ``publish`` only adds the manifest, also by ``os.replace``.
- For any other storage it is a local scratch folder; ``publish`` uploads every file
  under its final name (one streamed upload each) and then the manifest, and deletes
  the scratch folder. A crash mid-way leaves files without a manifest, never a manifest
  without its files.

S3 or an S3-compatible service (MinIO, Ceph, R2, ...) through django-storages, which is
not a dependency of this project; install it where you deploy and set::

    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "feedbackloop-exports",
                "endpoint_url": "https://minio.internal:9000",  # AWS_S3_ENDPOINT_URL
                "region_name": "us-east-1",
                "file_overwrite": True,   # keep final names; a retry replaces files
                "default_acl": None,      # private objects; downloads go through the API
            },
        },
        "staticfiles": {...},
    }

(or the ``AWS_STORAGE_BUCKET_NAME``, ``AWS_S3_ENDPOINT_URL``, ``AWS_S3_REGION_NAME``,
``AWS_S3_FILE_OVERWRITE`` settings, with credentials from the usual AWS environment
variables). An S3 object appears whole or not at all when its (multipart) upload
completes, so each file is as atomic there as a rename is on disk; S3Storage streams
uploads from the open file, so memory stays flat for files of any size.
``ExportStore(prefix, storage=storages["exports"])`` picks a different backend.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from annotation.exports.manifest import (
    MANIFEST_NAME,
    ManifestError,
    decode_manifest,
    encode_manifest,
    validate_manifest,
)
from annotation.exports.writers import FileResult

CHUNK_SIZE = 1 << 20


class ExportStore:
    """The folder ``prefix`` of one export, on local disk or in a Django ``Storage``.

    Pass ``directory`` for a plain local folder (``<directory>/<prefix>``), or ``storage``
    for a Django storage; with neither, ``storages["default"]`` is used.
    """

    def __init__(
        self,
        prefix: str,
        *,
        storage: Storage | None = None,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        prefix = prefix.strip("/")
        if not prefix or any(p in ("", ".", "..") for p in prefix.split("/")):
            raise ValueError(f"export prefix {prefix!r} must be a relative path like 'exports/42'")
        if storage is not None and directory is not None:
            raise ValueError("pass either storage or directory, not both")
        self.prefix = prefix
        self.storage: Storage | None = None
        self._local: Path | None = None
        if directory is not None:
            self._local = Path(directory).joinpath(*prefix.split("/"))
        else:
            self.storage = storage if storage is not None else storages["default"]
            if isinstance(self.storage, FileSystemStorage):
                self._local = Path(self.storage.path(prefix))
        self._scratch: Path | None = None

    @property
    def is_local(self) -> bool:
        return self._local is not None

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    @property
    def staging_dir(self) -> Path:
        """The local folder writers write into (created on first use).

        For a remote storage it is a scratch folder under ``TMPDIR``, which needs room
        for the whole export until ``publish`` uploads it.
        """
        if self._local is not None:
            self._local.mkdir(parents=True, exist_ok=True)
            return self._local
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="feedbackloop-export-"))
        return self._scratch

    # -- lifecycle -----------------------------------------------------------------

    def begin(self) -> None:
        """Clear what an earlier attempt left (manifest first, so it never looks done)."""
        self._delete_all()

    def publish(self, files: Sequence[FileResult], manifest: Mapping[str, Any]) -> None:
        """Store the committed ``files`` under their final names, then ``manifest.json``."""
        validate_manifest(dict(manifest))
        listed = {f["name"] for f in manifest["files"]}
        if listed != {f.name for f in files}:
            raise ManifestError(["the manifest does not list exactly the files being published"])
        staging = self.staging_dir
        for result in files:
            path = staging / result.name
            size = path.stat().st_size
            if size != result.bytes:
                raise OSError(f"{path} has {size} bytes but was written with {result.bytes}")
        data = encode_manifest(manifest)
        if self._local is not None:
            mode = getattr(self.storage, "file_permissions_mode", None)
            if mode is not None:
                for result in files:
                    os.chmod(staging / result.name, mode)
            self._replace_local(MANIFEST_NAME, data)
            return
        assert self.storage is not None
        for result in files:
            with open(staging / result.name, "rb") as fh:
                self._save_remote(result.name, File(fh, name=result.name))
        self._save_remote(MANIFEST_NAME, ContentFile(data, name=MANIFEST_NAME))
        self.discard_staging()

    def rewrite_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Replace the manifest of a published export (erasure adds what it removed)."""
        data = encode_manifest(validate_manifest(dict(manifest)))
        if self._local is not None:
            self._replace_local(MANIFEST_NAME, data)
        else:
            self._save_remote(MANIFEST_NAME, ContentFile(data, name=MANIFEST_NAME))

    def discard(self) -> None:
        """Delete the export: manifest first, then its files and any staging leftovers.

        What a failed export task calls after its writers aborted.
        """
        self._delete_all()
        self.discard_staging()

    def discard_staging(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- reading -------------------------------------------------------------------

    def manifest(self) -> dict[str, Any] | None:
        """The manifest when the export is done; ``None`` while it is not."""
        if self._local is not None:
            try:
                data = (self._local / MANIFEST_NAME).read_bytes()
            except FileNotFoundError:
                return None
        else:
            assert self.storage is not None
            key = self._key(MANIFEST_NAME)
            if not self.storage.exists(key):
                return None
            with self.storage.open(key, "rb") as fh:
                data = fh.read()
        return decode_manifest(data)

    def is_done(self) -> bool:
        return self.manifest() is not None

    def open_for_download(self, name: str) -> IO[bytes]:
        """A binary file object of one listed file of a finished export, read lazily.

        Only names in the manifest are served (so no path tricks), and nothing is served
        before the manifest exists. Django's ``FileResponse`` streams it in chunks.
        """
        manifest = self.manifest()
        if manifest is None:
            raise FileNotFoundError(f"export {self.prefix!r} is not finished")
        if name != MANIFEST_NAME and name not in {f["name"] for f in manifest["files"]}:
            raise FileNotFoundError(f"export {self.prefix!r} has no file {name!r}")
        if self._local is not None:
            return open(self._local / name, "rb")
        assert self.storage is not None
        return self.storage.open(self._key(name), "rb")

    def iter_chunks(self, name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with self.open_for_download(name) as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    def verify(self) -> list[str]:
        """Re-read every file of a finished export; the names whose size or sha256 differ."""
        manifest = self.manifest()
        if manifest is None:
            raise FileNotFoundError(f"export {self.prefix!r} is not finished")
        bad: list[str] = []
        for entry in manifest["files"]:
            digest = hashlib.sha256()
            size = 0
            for chunk in self.iter_chunks(entry["name"]):
                digest.update(chunk)
                size += len(chunk)
            if size != entry["bytes"] or digest.hexdigest() != entry["sha256"]:
                bad.append(entry["name"])
        return bad

    # -- internals -----------------------------------------------------------------

    def _replace_local(self, name: str, data: bytes) -> None:
        assert self._local is not None
        final = self._local / name
        temp = final.with_name(f".{name}.tmp")
        with open(temp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        mode = getattr(self.storage, "file_permissions_mode", None)
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, final)
        with contextlib.suppress(OSError):
            fd = os.open(self._local, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _save_remote(self, name: str, content: File[Any]) -> None:
        assert self.storage is not None
        key = self._key(name)
        # Storages that avoid overwrites would save under another name; clear the way.
        if self.storage.exists(key):
            self.storage.delete(key)
        saved = self.storage.save(key, content)
        if saved != key:
            raise OSError(f"the storage saved {key!r} as {saved!r}; exports need exact names")

    def _delete_all(self) -> None:
        if self._local is not None:
            if not self._local.is_dir():
                return
            (self._local / MANIFEST_NAME).unlink(missing_ok=True)
            for path in self._local.iterdir():
                if path.is_file():
                    path.unlink(missing_ok=True)
            return
        assert self.storage is not None
        key = self._key(MANIFEST_NAME)
        if self.storage.exists(key):
            self.storage.delete(key)
        try:
            _, names = self.storage.listdir(self.prefix)
        except (FileNotFoundError, NotImplementedError):
            return
        for name in names:
            self.storage.delete(self._key(name))
