"""Which interactions gave rows to an export, recorded while it is built.

Erasure reads this to mark the exports that held an erased user's data (their manifests then
count what was erased). The build adds a 64-bit hash of each item's request_id and its row count
to two flat arrays (12 bytes an item: 12 MB for a million) and writes them once the rows are
streamed (the build's connection is busy streaming until then), with COPY on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable

from django.db import connection

from annotation.models.privacy import ExportedInteraction

_CHUNK = 5_000


def request_hash(request_id: str) -> int:
    """A signed 64-bit hash of a request_id (what `ExportedInteraction.request_hash` holds)."""
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def request_hashes(request_ids: Iterable[str]) -> list[int]:
    return [request_hash(request_id) for request_id in request_ids]


class ExportContents:
    """Collects (request_id hash, rows) of one export's build, then stores them."""

    def __init__(self, export_id: int) -> None:
        self.export_id = export_id
        self.hashes = array("q")
        self.rows = array("I")

    def add(self, request_id: str, rows: int) -> None:
        self.hashes.append(request_hash(request_id))
        self.rows.append(rows)

    def save(self) -> None:
        """Replace what an earlier attempt of this build recorded with this build's items."""
        ExportedInteraction.objects.filter(export_id=self.export_id).delete()
        if connection.vendor == "postgresql":
            table = ExportedInteraction._meta.db_table
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(
                    f"COPY {table} (export_id, request_hash, rows) FROM STDIN"
                ) as copy,
            ):
                for digest, rows in zip(self.hashes, self.rows, strict=True):
                    copy.write_row((self.export_id, digest, rows))
            return
        for start in range(0, len(self.hashes), _CHUNK):
            ExportedInteraction.objects.bulk_create(
                ExportedInteraction(export_id=self.export_id, request_hash=digest, rows=rows)
                for digest, rows in zip(
                    self.hashes[start : start + _CHUNK],
                    self.rows[start : start + _CHUNK],
                    strict=True,
                )
            )
