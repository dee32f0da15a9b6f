"""What an export would hold, before building it: its row count, rows per part and a few
sample rows, computed by the same code as the build (settling, filters, curation, split)
without writing a file or an Export row.

The preview reads at most ``PREVIEW_MAX_ITEMS`` reviewed items; past that the row count
is extrapolated from the share read and marked as an estimate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from annotation.exports.curation import DuplicateFilter
from annotation.exports.manifest import empty_part_warnings
from annotation.models import Export, Project
from annotation.schemas.export_request import parse_export_request
from annotation.selectors.exports import Columns, ReviewedItems, project_queue_ids
from annotation.services.exports import _Build

PREVIEW_MAX_ITEMS = 20_000
SAMPLE_ROWS = 3


@dataclass(frozen=True)
class ExportPreview:
    """The rows an export would give now, as far as the preview read."""

    kind: str
    rows: int
    items: int
    items_total: int
    items_read: int
    by_part: dict[str, int]
    excluded: dict[str, int]
    samples: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.items_read >= self.items_total

    @property
    def estimated_rows(self) -> int:
        """The row count, extrapolated from the share of items read when the preview stopped early."""
        if self.complete or not self.items_read:
            return self.rows
        return round(self.rows * self.items_total / self.items_read)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "estimated_rows": self.estimated_rows,
            "complete": self.complete,
            "items": self.items,
            "items_total": self.items_total,
            "items_read": self.items_read,
            "by_part": self.by_part,
            "excluded": self.excluded,
            "samples": self.samples,
            "warnings": self.warnings,
        }


def export_preview(
    *, project: Project, data: Mapping[str, Any], max_items: int = PREVIEW_MAX_ITEMS
) -> ExportPreview:
    """Count the rows an export request would give and keep the first few (writes nothing).

    Raises ``ExportRequestInvalid`` listing every problem of the request, as ``export_create`` does.
    """
    spec = parse_export_request(data, queue_ids=project_queue_ids(project.pk))
    draft = Export(
        project=project,
        kind=spec.kind,
        format=spec.format,
        filters=spec.filters.to_json(),
        options=spec.options.to_json(),
    )
    build = _Build(draft, None)
    items = ReviewedItems(project.pk, build.filters)
    total = items.count()
    if build.dedupe:
        build.seen = DuplicateFilter(expected=min(total, max_items) * 2)
    columns = Columns.for_kind(
        build.kind, split=build.split is not None, sampled_by=bool(build.filters.sampled_by)
    )
    parts: Counter[str] = Counter({part: 0 for part in build.options.parts})
    samples: list[dict[str, Any]] = []
    read = 0
    # Keyset pages, not the streamed query: the preview stops early and runs in a web request.
    for item in items.stream(columns, streaming=False):
        if read >= max_items:
            break
        read += 1
        made = build._rows(item)
        if made is None:
            continue
        part, rows = made
        parts[part] += len(rows)
        for row in rows:
            if len(samples) < SAMPLE_ROWS:
                samples.append(row)
    rows_total = sum(parts.values())
    split = build.split
    return ExportPreview(
        kind=build.kind,
        rows=rows_total,
        items=build.matched,
        items_total=total,
        items_read=read,
        by_part=dict(parts),
        excluded={k: v for k, v in sorted(build.excluded.items()) if v},
        samples=samples,
        warnings=empty_part_warnings(dict(parts), split=split),
    )
