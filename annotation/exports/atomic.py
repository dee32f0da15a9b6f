"""The base of every export writer: a hidden temp file beside the final one, hashed
as it is written, renamed into place by ``commit()`` and deleted by ``abort()``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

import msgspec

from annotation.exports.rows import Field, Kind, check_kind, fields_for

Format = Literal["jsonl", "csv", "parquet"]
WriterState = Literal["open", "closed", "committed", "aborted"]


@dataclass(frozen=True, slots=True)
class FileResult:
    """One finished file of an export, as listed in its manifest."""

    name: str
    part: str
    rows: int
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "part": self.part,
            "rows": self.rows,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


class WriterStateError(RuntimeError):
    pass


def enc_hook(obj: object) -> object:
    raise TypeError(f"cannot export a value of type {type(obj).__name__}: {obj!r:.80}")


json_encoder = msgspec.json.Encoder(enc_hook=enc_hook)


class _HashingFile:
    """A binary sink that hashes and counts every byte on its way to the file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.sha256.update(data)
        self.raw.write(data)
        n = memoryview(data).nbytes
        self.bytes += n
        return n

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        self.raw.flush()

    @property
    def closed(self) -> bool:
        return self.raw.closed


class Writer:
    """Base of the three writers: the temp file, the hash, commit and abort."""

    format: Format

    def __init__(
        self,
        kind: str,
        path: str | os.PathLike[str],
        *,
        part: str | None = None,
        fsync: bool = True,
    ) -> None:
        self.kind: Kind = check_kind(kind)
        self.fields: tuple[Field, ...] = fields_for(kind)
        self.names: tuple[str, ...] = tuple(f.name for f in self.fields)
        self._name_set = frozenset(self.names)
        self.path = Path(path)
        self.part = part if part is not None else self.path.name.split(".", 1)[0]
        self.rows = 0
        self._fsync = fsync
        self.temp_path = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        # "x": never clobber anything, not even a temp file of a concurrent run.
        self._raw: IO[bytes] = open(self.temp_path, "xb")  # noqa: SIM115 - closed by close()/abort()
        self._sink = _HashingFile(self._raw)
        self._state: WriterState = "open"
        self._result: FileResult | None = None

    @property
    def state(self) -> WriterState:
        return self._state

    # -- subclasses ------------------------------------------------------------------

    def write(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Write whatever is buffered and any trailer."""

    def _discard(self) -> None:
        """Drop buffers and native writers without writing more."""

    # -- shared ----------------------------------------------------------------------

    def _check_row(self, row: Mapping[str, Any]) -> None:
        if row.keys() != self._name_set:
            extra = sorted(set(row) - self._name_set)
            missing = [n for n in self.names if n not in row]
            raise ValueError(
                f"row {self.rows} does not fit the {self.kind!r} schema: "
                f"unexpected keys {extra}, missing keys {missing}"
            )

    def _require_open(self) -> None:
        if self._state != "open":
            raise WriterStateError(f"{self.path.name} is {self._state}; it takes no more rows")

    def close(self) -> FileResult:
        """Finish and fsync the temp file; return its result. The final name does not exist yet."""
        if self._result is not None:
            return self._result
        self._require_open()
        try:
            self._finish()
            self._raw.flush()
            if self._fsync:
                os.fsync(self._raw.fileno())
            self._raw.close()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        self._result = FileResult(
            name=self.path.name,
            part=self.part,
            rows=self.rows,
            sha256=self._sink.sha256.hexdigest(),
            bytes=self._sink.bytes,
        )
        return self._result

    def commit(self) -> FileResult:
        """Close if needed, then atomically rename the temp file to the final name."""
        if self._state == "committed":
            assert self._result is not None
            return self._result
        result = self.close()
        os.replace(self.temp_path, self.path)
        self._state = "committed"
        if self._fsync:
            _fsync_directory(self.path.parent)
        return result

    def abort(self) -> None:
        """Delete the temp file. Nothing happens to a file that was already committed."""
        if self._state in ("committed", "aborted"):
            return
        self._state = "aborted"
        with contextlib.suppress(Exception):
            self._discard()
        with contextlib.suppress(OSError):
            self._raw.close()
        self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.close()


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
