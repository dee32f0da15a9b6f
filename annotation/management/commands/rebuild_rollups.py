from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from annotation.insights.query import InvalidQuery, parse_time
from annotation.models import Project
from annotation.services.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the hourly rollups of a project for a time range (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True)
        parser.add_argument("--since", help="ISO 8601; default 30 days ago.")
        parser.add_argument("--until", help="ISO 8601, exclusive; default now.")

    def handle(
        self, *args: Any, project: str, since: str | None, until: str | None, **options: Any
    ) -> None:
        found = Project.objects.filter(name=project).first()
        if found is None:
            raise CommandError(f"No project '{project}'.")
        try:
            end: datetime = parse_time("until", until) or timezone.now()
            start: datetime = parse_time("since", since) or end - timedelta(days=30)
        except InvalidQuery as exc:
            raise CommandError(f"--{exc.field}: {exc.message}") from None
        if start >= end:
            raise CommandError("--since must be before --until.")
        hours = rollups_rebuild(project=found, since=start, until=end)
        self.stdout.write(f"Rebuilt {hours} hours of rollups for '{project}'.")
