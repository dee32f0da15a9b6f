"""Streaming, atomic writers of export files: JSONL, CSV and Parquet.

Every writer has the same life cycle::

    with open_writer(("sft", "jsonl"), directory / "train.jsonl") as writer:
        for row in rows:
            writer.write(row)
    result = writer.commit()   # FileResult(name, part, rows, sha256, bytes)

Rows go to a hidden temp file beside the final one (``.train.jsonl.<random>.tmp``).
``close()`` flushes and fsyncs it and returns the ``FileResult``; only ``commit()``
renames it to its final name, so a crash at any point leaves at most a temp file and
never a final-named half file. ``abort()`` (also what leaving the ``with`` block on an
exception does) deletes the temp file. The sha256 is computed from the bytes as they are
written; nothing is read back. Memory stays flat: JSONL and CSV buffer about 1 MiB of
output, Parquet one row group in Arrow's layout.

Rows must have exactly the kind's fields (``rows.FIELDS``), else ``ValueError``. A row
that cannot be encoded raises ``TypeError`` naming the value and is not written; the
writer stays usable. JSONL and CSV encode whatever JSON can hold; Parquet also checks
each value against its column type and nullability.

Formats:

- JSONL: one msgspec-encoded object per line, keys in the kind's field order;
  datetimes as RFC 3339 strings (``2026-11-20T10:00:00Z``).
- CSV: RFC 4180 (``\\r\\n`` line ends, quoted only where needed), a header row with the
  kind's field names, UTF-8 without BOM. Lists and objects are JSON text in their cell;
  booleans ``true``/``false``; timestamps ISO 8601; ``None`` an empty cell (so is an
  empty string: CSV cannot tell them apart; use JSONL or Parquet where that matters).
- Parquet: an explicit schema per kind (``arrow_schema``), zstd compressed, row groups
  of up to ``row_group_rows`` rows and about 64 MiB. Conversations are real
  ``list<struct<role: string, content: string>>`` columns and lists of strings
  ``list<string>`` (what Hugging Face ``datasets`` and pandas read as lists of dicts);
  free-form objects (``labels``, annotation ``values``) are JSON strings, because their
  keys change with each queue's label schema and Parquet needs one fixed struct type.
  Timestamps are ``timestamp[us, UTC]``. The schema metadata carries ``kind`` and
  ``schema_version``.

The temp file, hashing, commit and abort live in ``atomic``; the Parquet writer in
``parquet``. Everything public is importable from here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Self, get_args

from annotation.exports.atomic import (
    FileResult,
    Format,
    Writer,
    WriterStateError,
    json_encoder,
)
from annotation.exports.rows import ROW_GROUP_BYTES, ROW_GROUP_ROWS, FieldType, Kind, check_kind

if TYPE_CHECKING:
    from annotation.exports.parquet import MESSAGES_TYPE, ParquetFileWriter, arrow_schema

# pyarrow (and numpy) load with the first Parquet file written, in the exports worker, so a
# web process that only lists or downloads exports never holds them.
_PARQUET_NAMES = frozenset({"MESSAGES_TYPE", "ParquetFileWriter", "arrow_schema"})


def __getattr__(name: str) -> Any:
    if name in _PARQUET_NAMES:
        from annotation.exports import parquet

        return getattr(parquet, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "MESSAGES_TYPE",
    "ROW_GROUP_BYTES",
    "ROW_GROUP_ROWS",
    "CsvWriter",
    "FileResult",
    "Format",
    "JsonlWriter",
    "KindFormat",
    "ParquetFileWriter",
    "PartWriters",
    "Writer",
    "WriterStateError",
    "arrow_schema",
    "check_format",
    "file_name",
    "open_writer",
    "relaxed_gc",
]

FORMATS: tuple[Format, ...] = get_args(Format)
EXTENSIONS: Mapping[Format, str] = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet"}

FLUSH_BYTES = 1 << 20

_PART_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class KindFormat(NamedTuple):
    kind: Kind
    format: Format


def check_format(fmt: str) -> Format:
    if fmt not in EXTENSIONS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt  # type: ignore[return-value]


# --- JSONL ---------------------------------------------------------------------------


class JsonlWriter(Writer):
    format = "jsonl"

    def __init__(
        self,
        kind: str,
        path: str | os.PathLike[str],
        *,
        part: str | None = None,
        fsync: bool = True,
    ) -> None:
        super().__init__(kind, path, part=part, fsync=fsync)
        self._encoder = json_encoder
        self._buf = bytearray()

    def write(self, row: dict[str, Any]) -> None:
        self._require_open()
        self._check_row(row)
        buf = self._buf
        start = len(buf)
        try:
            self._encoder.encode_into(row, buf, -1)
        except BaseException:
            del buf[start:]
            raise
        buf.append(10)  # "\n"
        self.rows += 1
        if len(buf) >= FLUSH_BYTES:
            self._sink.write(buf)
            buf.clear()

    def _finish(self) -> None:
        if self._buf:
            self._sink.write(self._buf)
            self._buf.clear()

    def _discard(self) -> None:
        self._buf = bytearray()


# --- CSV -----------------------------------------------------------------------------

# The csv module's writer handles text one character at a time (35 µs for a 1 KB
# cell); str.replace and "in" run at memory speed. Output is the same as
# csv.writer(lineterminator="\r\n") with QUOTE_MINIMAL, which a test checks.


def _quote(text: str) -> str:
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_string(value: object) -> str:
    return "" if value is None else _quote(value if isinstance(value, str) else str(value))


def _csv_number(value: object) -> str:
    return "" if value is None else str(value)


def _csv_bool(value: object) -> str:
    return "" if value is None else ("true" if value else "false")


def _csv_timestamp(value: object) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    # The same spelling as JSONL and the manifest: "2026-11-20T10:00:00Z".
    return _quote(text[:-6] + "Z" if text.endswith("+00:00") else text)


def _csv_json(value: object) -> str:
    return "" if value is None else _quote(json_encoder.encode(value).decode())


_CSV_CELLS: Mapping[FieldType, Callable[[object], str]] = {
    "string": _csv_string,
    "int": _csv_number,
    "float": _csv_number,
    "bool": _csv_bool,
    "timestamp": _csv_timestamp,
    "messages": _csv_json,
    "strings": _csv_json,
    "json": _csv_json,
}


class CsvWriter(Writer):
    format = "csv"

    def __init__(
        self,
        kind: str,
        path: str | os.PathLike[str],
        *,
        part: str | None = None,
        fsync: bool = True,
    ) -> None:
        super().__init__(kind, path, part=part, fsync=fsync)
        self._cells = [(f.name, _CSV_CELLS[f.type]) for f in self.fields]
        self._lines: list[bytes] = [",".join(_quote(name) for name in self.names).encode()]
        self._size = 0

    def write(self, row: dict[str, Any]) -> None:
        self._require_open()
        self._check_row(row)
        line = ",".join([cell(row[name]) for name, cell in self._cells])
        if not line and len(self._cells) == 1:
            line = '""'  # as the csv module does, so the row is not read as a blank line
        data = line.encode()  # here, so text that is not valid Unicode fails its own row
        self._lines.append(data)
        self.rows += 1
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._lines.append(b"")
            self._sink.write(b"\r\n".join(self._lines))
        self._lines = []
        self._size = 0

    def _finish(self) -> None:
        self._flush()

    def _discard(self) -> None:
        self._lines = []


_WRITERS: Mapping[str, type[Writer]] = {"jsonl": JsonlWriter, "csv": CsvWriter}


def open_writer(
    kind_format: tuple[str, str],
    path: str | os.PathLike[str],
    *,
    part: str | None = None,
    fsync: bool = True,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> Writer:
    """A writer of ``kind_format = (kind, format)`` rows whose final file is ``path``.

    ``part`` (train, validation, ...) defaults to the file name up to its first dot;
    ``row_group_rows`` caps Parquet row groups and is ignored by the other formats.
    """
    kind, fmt = kind_format[0], check_format(kind_format[1])
    if fmt == "parquet":
        from annotation.exports.parquet import ParquetFileWriter

        return ParquetFileWriter(kind, path, part=part, fsync=fsync, row_group_rows=row_group_rows)
    return _WRITERS[fmt](kind, path, part=part, fsync=fsync)


def file_name(part: str, fmt: str) -> str:
    return f"{part}.{EXTENSIONS[check_format(fmt)]}"


class PartWriters:
    """The writers of one export's parts, one file each (``train.jsonl``, ``validation.jsonl``).

    Every part gets a file, even with no rows, so consumers find the same files in every
    export of the same request.
    """

    def __init__(
        self,
        kind_format: tuple[str, str],
        directory: str | os.PathLike[str],
        *,
        parts: Sequence[str] = ("all",),
        fsync: bool = True,
        row_group_rows: int = ROW_GROUP_ROWS,
    ) -> None:
        if isinstance(parts, str) or not parts or len(set(parts)) != len(parts):
            raise ValueError(f"parts must be distinct and at least one, got {list(parts)}")
        for part in parts:
            if not _PART_RE.fullmatch(part):
                raise ValueError(f"part {part!r} must be lowercase letters, digits, - and _")
        self.kind_format = KindFormat(check_kind(kind_format[0]), check_format(kind_format[1]))
        self.directory = Path(directory)
        self.writers: dict[str, Writer] = {}
        try:
            for part in parts:
                self.writers[part] = open_writer(
                    self.kind_format,
                    self.directory / file_name(part, self.kind_format.format),
                    part=part,
                    fsync=fsync,
                    row_group_rows=row_group_rows,
                )
        except BaseException:
            self.abort()
            raise

    @property
    def rows(self) -> int:
        return sum(w.rows for w in self.writers.values())

    def write(self, part: str, row: dict[str, Any]) -> None:
        try:
            writer = self.writers[part]
        except KeyError:
            raise ValueError(
                f"unknown part {part!r}; this export has {list(self.writers)}"
            ) from None
        writer.write(row)

    def close(self) -> list[FileResult]:
        try:
            return [w.close() for w in self.writers.values()]
        except BaseException:
            self.abort()
            raise

    def commit(self) -> list[FileResult]:
        """Close every file, then rename them all. Only a manifest marks the export done."""
        results = self.close()
        for writer in self.writers.values():
            writer.commit()
        return results

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()

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
        elif all(w.state == "open" for w in self.writers.values()):
            self.close()


@contextlib.contextmanager
def relaxed_gc(threshold: int = 50_000) -> Iterator[None]:
    """Run the cyclic garbage collector rarely while an export runs (process-wide).

    An export allocates millions of short-lived dicts and lists. With Python's default
    thresholds the collector runs every 700 allocations, and its full passes walk every
    object in the process (Django, pyarrow, a worker's caches). Freezing the objects
    that exist at the start and collecting every ``threshold`` allocations made row
    building about twice as fast in ``bench/export_writers.py``. Cycles are still
    collected, less often. Meant for a prefork Celery worker's child, which runs one
    task at a time.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
