"""Parquet export files: an explicit Arrow schema per kind, streamed in row groups.

See ``writers`` for how each field type is stored.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Mapping, Sequence
from math import floor
from operator import itemgetter
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from annotation.exports.atomic import Writer, json_encoder
from annotation.exports.rows import (
    ROW_GROUP_BYTES,
    ROW_GROUP_ROWS,
    SCHEMA_VERSION,
    Field,
    FieldType,
    fields_for,
)

MESSAGES_TYPE = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))

_ARROW_TYPES: Mapping[FieldType, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "messages": MESSAGES_TYPE,
    "strings": pa.list_(pa.string()),
    "json": pa.string(),
}


def arrow_schema(kind: str) -> pa.Schema:
    """The Parquet schema of ``kind``; the ``writers`` docstring says how types map."""
    return pa.schema(
        [pa.field(f.name, _ARROW_TYPES[f.type], nullable=f.nullable) for f in fields_for(kind)],
        metadata={"kind": kind, "schema_version": str(SCHEMA_VERSION)},
    )


# Columns are buffered in Arrow's own layout (UTF-8 bytes with int32 offsets, packed
# numbers) and handed over with ``Array.from_buffers``: a few hundred bytes per row
# rather than a row of Python objects, and no ``pa.array()``, which imports pandas
# (~50 MB of RSS) when it is installed. Each column's ``adder`` is a closure over the
# current buffers, rebuilt for every row group.

Adder = Callable[[Any], None]


class _Strings:
    """The bytes and offsets of a string column, or of a list column's strings."""

    __slots__ = ("data", "offsets")

    def __init__(self) -> None:
        self.data = bytearray()
        self.offsets = array("i", [0])

    def truncate(self, count: int) -> None:
        del self.offsets[count + 1 :]
        del self.data[self.offsets[-1] :]

    def finish(self, validity: pa.Buffer | None = None, nulls: int = 0) -> pa.Array:
        return pa.Array.from_buffers(
            pa.string(),
            len(self.offsets) - 1,
            [validity, pa.py_buffer(self.offsets), pa.py_buffer(self.data)],
            null_count=nulls,
        )

    @property
    def nbytes(self) -> int:
        return len(self.data) + 4 * len(self.offsets)


class _Column:
    """One buffered Parquet column of one row group."""

    def __init__(self, field: Field) -> None:
        self.field = field
        self.type = _ARROW_TYPES[field.type]
        self.nulls: list[int] = []
        self.adder: Adder = self.reset()

    def reset(self) -> Adder:
        """Start a new row group; the adder of the new buffers."""
        self.nulls = []
        self.adder = self._make_adder()
        return self.adder

    def _null(self, at: int) -> None:
        if not self.field.nullable:
            raise TypeError("the column is not nullable")
        self.nulls.append(at)

    def _validity(self, rows: int) -> pa.Buffer | None:
        if not self.nulls:
            return None
        valid = np.ones(rows, dtype=np.bool_)
        valid[self.nulls] = False
        return pa.py_buffer(np.packbits(valid, bitorder="little"))

    def truncate(self, rows: int) -> None:
        """Forget everything after the first ``rows`` rows (undoes a half-added row)."""
        # In place: the adder closure holds this very list.
        self.nulls[:] = [i for i in self.nulls if i < rows]
        self._truncate(rows)

    def _make_adder(self) -> Adder:
        raise NotImplementedError

    def count(self) -> int:
        """Rows added so far in this row group."""
        raise NotImplementedError

    def _truncate(self, rows: int) -> None:
        raise NotImplementedError

    def finish(self, rows: int) -> pa.Array:
        raise NotImplementedError

    @property
    def nbytes(self) -> int:
        raise NotImplementedError


class _NumberColumn(_Column):
    """int64, float64 and timestamp[us] (microseconds since the epoch) columns."""

    def _make_adder(self) -> Adder:
        self.values = values = array("d" if self.field.type == "float" else "q")
        append, null = values.append, self._null
        if self.field.type == "timestamp":

            def add_timestamp(value: Any) -> None:
                if value is None:
                    null(len(values))
                    append(0)
                elif value.tzinfo is None:
                    raise TypeError("a timestamp must be an aware datetime")
                else:
                    # Exact: timestamp() is off by far less than 1 µs before the year 2200.
                    append(floor(value.timestamp()) * 1_000_000 + value.microsecond)

            return add_timestamp
        if not self.field.nullable:
            return append

        def add(value: Any) -> None:
            if value is None:
                null(len(values))
                append(0)
            else:
                append(value)

        return add

    def count(self) -> int:
        return len(self.values)

    def _truncate(self, rows: int) -> None:
        del self.values[rows:]

    def finish(self, rows: int) -> pa.Array:
        buffers = [self._validity(rows), pa.py_buffer(self.values)]
        return pa.Array.from_buffers(self.type, rows, buffers, null_count=len(self.nulls))

    @property
    def nbytes(self) -> int:
        return 8 * len(self.values)


class _BoolColumn(_Column):
    def _make_adder(self) -> Adder:
        self.values = values = bytearray()
        null = self._null

        def add(value: Any) -> None:
            if value is True or value is False:
                values.append(value)
            elif value is None:
                null(len(values))
                values.append(0)
            else:
                raise TypeError("not a bool")

        return add

    def count(self) -> int:
        return len(self.values)

    def _truncate(self, rows: int) -> None:
        del self.values[rows:]

    def finish(self, rows: int) -> pa.Array:
        packed = pa.py_buffer(np.packbits(np.frombuffer(self.values, np.uint8), bitorder="little"))
        buffers = [self._validity(rows), packed]
        return pa.Array.from_buffers(self.type, rows, buffers, null_count=len(self.nulls))

    @property
    def nbytes(self) -> int:
        return len(self.values)


class _StringColumn(_Column):
    """string columns, and json columns holding each value's JSON text."""

    def _make_adder(self) -> Adder:
        self.strings = _Strings()
        data, offsets = self.strings.data, self.strings.offsets
        extend, append, null = data.extend, offsets.append, self._null
        if self.field.type == "json":
            encode_into = json_encoder.encode_into

            def add_json(value: Any) -> None:
                if value is None:
                    null(len(offsets) - 1)
                else:
                    encode_into(value, data, -1)  # a failure's partial bytes go in truncate()
                append(len(data))

            return add_json
        if not self.field.nullable:
            # None fails on .encode, and the writer reports which field it was.
            def add_required(value: Any) -> None:
                extend(value.encode())
                append(len(data))

            return add_required

        def add(value: Any) -> None:
            if value is None:
                null(len(offsets) - 1)
            else:
                extend(value.encode())
            append(len(data))

        return add

    def count(self) -> int:
        return len(self.strings.offsets) - 1

    def _truncate(self, rows: int) -> None:
        self.strings.truncate(rows)

    def finish(self, rows: int) -> pa.Array:
        return self.strings.finish(self._validity(rows), len(self.nulls))

    @property
    def nbytes(self) -> int:
        return self.strings.nbytes


class _ListColumn(_Column):
    """``list<string>``, and the ``list<struct<role, content>>`` of conversations."""

    def _make_adder(self) -> Adder:
        self.offsets = offsets = array("i", [0])
        self.children = [_Strings(), _Strings()] if self.field.type == "messages" else [_Strings()]
        append, null = offsets.append, self._null
        first = self.children[0]
        data1, extend1, append1 = first.data, first.data.extend, first.offsets.append

        def as_list(value: Any) -> Sequence[Any] | None:
            # The slow path: anything but a list or tuple.
            if value is None:
                null(len(offsets) - 1)
                append(offsets[-1])
                return None
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
                raise TypeError("not a list")
            return value

        if self.field.type == "strings":

            def add_strings(value: Any) -> None:
                if type(value) is not list and type(value) is not tuple:
                    value = as_list(value)
                    if value is None:
                        return
                for item in value:
                    extend1(item.encode())
                    append1(len(data1))
                append(offsets[-1] + len(value))

            return add_strings

        second = self.children[1]
        data2, extend2, append2 = second.data, second.data.extend, second.offsets.append

        def add_messages(value: Any) -> None:
            if type(value) is not list and type(value) is not tuple:
                value = as_list(value)
                if value is None:
                    return
            for message in value:
                extend1(message["role"].encode())
                append1(len(data1))
                extend2(message["content"].encode())
                append2(len(data2))
            append(offsets[-1] + len(value))

        return add_messages

    def count(self) -> int:
        return len(self.offsets) - 1

    def _truncate(self, rows: int) -> None:
        del self.offsets[rows + 1 :]
        for child in self.children:
            child.truncate(self.offsets[-1])

    def finish(self, rows: int) -> pa.Array:
        if self.field.type == "messages":
            values = pa.StructArray.from_arrays(
                [child.finish() for child in self.children], fields=list(MESSAGES_TYPE.value_type)
            )
        else:
            values = self.children[0].finish()
        return pa.Array.from_buffers(
            self.type,
            rows,
            [self._validity(rows), pa.py_buffer(self.offsets)],
            null_count=len(self.nulls),
            children=[values],
        )

    @property
    def nbytes(self) -> int:
        return 4 * len(self.offsets) + sum(child.nbytes for child in self.children)


_COLUMNS: Mapping[FieldType, type[_Column]] = {
    "string": _StringColumn,
    "json": _StringColumn,
    "int": _NumberColumn,
    "float": _NumberColumn,
    "timestamp": _NumberColumn,
    "bool": _BoolColumn,
    "messages": _ListColumn,
    "strings": _ListColumn,
}


class ParquetFileWriter(Writer):
    format = "parquet"

    def __init__(
        self,
        kind: str,
        path: str | os.PathLike[str],
        *,
        part: str | None = None,
        fsync: bool = True,
        row_group_rows: int = ROW_GROUP_ROWS,
        row_group_bytes: int = ROW_GROUP_BYTES,
    ) -> None:
        super().__init__(kind, path, part=part, fsync=fsync)
        self.schema = arrow_schema(kind)
        self._columns = [_COLUMNS[f.type](f) for f in self.fields]
        self._adders = [c.adder for c in self._columns]
        getter = itemgetter(*self.names)
        # itemgetter of one name returns the value itself, not a 1-tuple.
        self._values: Callable[[dict[str, Any]], tuple[Any, ...]] = (
            getter if len(self.names) > 1 else lambda row: (getter(row),)
        )
        self._max_rows = row_group_rows
        self._max_bytes = row_group_bytes
        self._pending = 0
        try:
            self._parquet = pq.ParquetWriter(
                pa.PythonFile(self._sink, mode="w"), self.schema, compression="zstd"
            )
        except BaseException:
            self.abort()
            raise

    def write(self, row: dict[str, Any]) -> None:
        self._require_open()
        self._check_row(row)
        try:
            for add, value in zip(self._adders, self._values(row), strict=True):
                add(value)
        except Exception as exc:
            self._undo(row, exc)
        self.rows += 1
        self._pending += 1
        if self._pending >= self._max_rows or (
            self._pending & 63 == 0 and self._buffered_bytes() >= self._max_bytes
        ):
            self._write_group()

    def _undo(self, row: dict[str, Any], exc: Exception) -> NoReturn:
        # The first column that did not take the value is the one that refused it.
        refused = [c.field.name for c in self._columns if c.count() == self._pending]
        # Undo the half-added row so the columns stay aligned and the writer usable.
        for column in self._columns:
            column.truncate(self._pending)
        if not refused:
            raise exc
        name, value = refused[0], row[refused[0]]
        raise TypeError(
            f"row {self.rows}: {name} holds {type(value).__name__} {value!r:.80}, "
            f"which a {self.kind} Parquet file cannot store: {exc}"
        ) from exc

    def _buffered_bytes(self) -> int:
        return sum(c.nbytes for c in self._columns)

    def _write_group(self) -> None:
        if not self._pending:
            return
        arrays = [c.finish(self._pending) for c in self._columns]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self._parquet.write_batch(batch, row_group_size=self._pending)
        self._pending = 0
        self._adders = [c.reset() for c in self._columns]

    def _finish(self) -> None:
        self._write_group()
        self._parquet.close()

    def _discard(self) -> None:
        for column in self._columns:
            column.reset()
        self._pending = 0
        self._parquet.close()
