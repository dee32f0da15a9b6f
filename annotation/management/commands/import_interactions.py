from __future__ import annotations

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


class Command(BaseCommand):
    help = (
        "Import interactions from a JSONL file (.gz too): our own format (the API's interaction "
        "objects, each with an optional 'feedback' list) or --format hh-rlhf."
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
        totals = {"created": 0, "duplicates": 0, "feedback": 0, "errors": 0}
        batch: list[ParsedLine] = []
        for count, parsed in enumerate(read_jsonl(file, fmt=fmt), start=1):
            if parsed.error:
                totals["errors"] += 1
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
            "Imported {created} interactions ({duplicates} already present), {feedback} feedback; "
            "{errors} lines with errors.".format(**totals)
        )

    def _store(self, project: Project, batch: list[ParsedLine], totals: dict[str, int]) -> None:
        if not batch:
            return
        result = interactions_ingest(
            project=project, items=[p.interaction for p in batch if p.interaction]
        )
        totals["created"] += result.created
        totals["duplicates"] += len(result.duplicates)
        # Feedback of an interaction already present was imported with it before.
        duplicates = set(result.duplicates)
        pending = [
            (parsed.line, item)
            for parsed in batch
            if parsed.interaction and parsed.interaction.request_id not in duplicates
            for item in parsed.feedback
        ]
        rows: list[tuple[int, FeedbackIn]] = [(i, item) for i, (_, item) in enumerate(pending)]
        checked = feedback_check_taxonomy(
            project=project,
            batch=DecodedBatch(rows=rows, errors=[], is_batch=True, size=len(rows)),
        )
        for error in checked.errors:
            totals["errors"] += 1
            line = pending[error.index or 0][0]
            self.stderr.write(f"line {line}: feedback {error.field}: {error.message}")
        totals["feedback"] += feedback_ingest(
            project=project, items=[item for _, item in checked.rows]
        ).created
