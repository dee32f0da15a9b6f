from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.importers import ParsedLine, read_jsonl
from annotation.models import Project
from annotation.schemas.decoding import DecodedBatch
from annotation.schemas.ingestion import FeedbackIn
from annotation.services.ingestion import (
    feedback_check_taxonomy,
    feedback_ingest,
    interactions_ingest,
)

BATCH = 1000
# Repeated request_ids named in the summary; the rest are counted.
SHOWN_REPEATS = 20


@dataclass
class Totals:
    created: int = 0
    present: int = 0
    feedback: int = 0
    errors: int = 0
    # request_id -> the line it first appeared on, for every interaction of this file.
    first_line: dict[str, int] = field(default_factory=dict)
    # request_id -> every line it appeared on, for those that appeared more than once.
    repeats: dict[str, list[int]] = field(default_factory=dict)
    # request_ids stored before this import: their feedback came with them then.
    present_before: set[str] = field(default_factory=set)

    def repeat_rows(self) -> int:
        return sum(len(lines) - 1 for lines in self.repeats.values())


class Command(BaseCommand):
    help = (
        "Import interactions from a JSONL file (.gz too): our own format (the API's interaction "
        "objects, each with an optional 'feedback' list) or --format hh-rlhf (each preference "
        "pair becomes an A/B pair: response and metadata.response_b, with metadata.hh_preferred)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True)
        parser.add_argument("--format", dest="fmt", choices=["jsonl", "hh-rlhf"], default="jsonl")
        parser.add_argument("--limit", type=int, default=None, help="Stop after N lines.")

    def handle(
        self, *args: Any, file: Path, project: str, fmt: str, limit: int | None, **options: Any
    ) -> None:
        target = Project.objects.filter(name=project).first()
        if target is None:
            raise CommandError(f"No project '{project}'; create it with `manage.py createproject`.")
        if not file.is_file():
            raise CommandError(f"No file at {file}.")
        totals = Totals()
        batch: list[ParsedLine] = []
        for count, parsed in enumerate(read_jsonl(file, fmt=fmt), start=1):
            if parsed.error:
                totals.errors += 1
                self.stderr.write(f"line {parsed.line}: {parsed.error}")
            else:
                batch.append(parsed)
            if len(batch) >= BATCH:
                self._store(target, batch, totals)
                batch = []
            if limit is not None and count >= limit:
                break
        self._store(target, batch, totals)
        self.stdout.write(
            f"Imported {totals.created} interactions ({totals.present} already present), "
            f"{totals.feedback} feedback; {totals.errors} lines with errors."
        )
        if totals.repeats:
            self.stdout.write(self._repeats_summary(totals))

    def _repeats_summary(self, totals: Totals) -> str:
        rows = totals.repeat_rows()
        shown = [
            f"{request_id} (lines {', '.join(str(line) for line in lines)})"
            for request_id, lines in sorted(totals.repeats.items(), key=lambda kv: kv[1][0])[
                :SHOWN_REPEATS
            ]
        ]
        more = len(totals.repeats) - len(shown)
        return (
            f"{rows} {'row repeats a request_id' if rows == 1 else 'rows repeat request_ids'} "
            f"already in this file: {', '.join(shown)}{f' and {more} more' if more else ''}. "
            "The first row of each request_id gave the interaction; the feedback of every row "
            "was kept and linked to it."
        )

    def _store(self, project: Project, batch: list[ParsedLine], totals: Totals) -> None:
        if not batch:
            return
        # A request_id seen earlier in this file is not a new interaction: only its feedback is
        # kept, linked by request_id to the interaction the first row gave.
        fresh = []
        for parsed in batch:
            if parsed.interaction is None:
                continue
            request_id = parsed.interaction.request_id
            first = totals.first_line.setdefault(request_id, parsed.line)
            if first == parsed.line:
                fresh.append(parsed.interaction)
            else:
                totals.repeats.setdefault(request_id, [first]).append(parsed.line)
        result = interactions_ingest(project=project, items=fresh)
        totals.created += result.created
        totals.present += len(result.duplicates)
        totals.present_before.update(result.duplicates)
        # Feedback of an interaction already present was imported with it before.
        pending = [
            (parsed.line, item)
            for parsed in batch
            if parsed.interaction and parsed.interaction.request_id not in totals.present_before
            for item in parsed.feedback
        ]
        rows: list[tuple[int, FeedbackIn]] = [(i, item) for i, (_, item) in enumerate(pending)]
        checked = feedback_check_taxonomy(
            project=project,
            batch=DecodedBatch(rows=rows, errors=[], is_batch=True, size=len(rows)),
        )
        for error in checked.errors:
            totals.errors += 1
            line = pending[error.index or 0][0]
            self.stderr.write(f"line {line}: feedback {error.field}: {error.message}")
        totals.feedback += feedback_ingest(
            project=project, items=[item for _, item in checked.rows]
        ).created
