from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from annotation.models import Check
from annotation.services.checks import checks_rerun


def parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None and (day := parse_date(value)) is not None:
        moment = datetime(day.year, day.month, day.day)
    if moment is None:
        raise CommandError(f"--since {value!r} is not a date or ISO 8601 time, like 2026-11-01.")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Re-evaluate one check over past interactions, after its configuration changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", required=True, help="The check's name.")
        parser.add_argument("--project", help="Project name, when several have the check.")
        parser.add_argument("--since", help="Only interactions at or after this date or time.")

    def handle(
        self, *args: Any, check: str, project: str | None, since: str | None, **options: Any
    ) -> None:
        checks = Check.objects.filter(name=check).select_related("project")
        if project:
            checks = checks.filter(project__name=project)
        found = list(checks[:2])
        if not found:
            raise CommandError(
                f"No check named '{check}'" + (f" in project '{project}'." if project else ".")
            )
        if len(found) > 1:
            raise CommandError(
                f"Several projects have a check named '{check}'; add --project NAME."
            )
        queued = checks_rerun(check=found[0], since=parse_since(since) if since else None)
        self.stdout.write(f"Queued {queued} interactions of {found[0].project.name} for '{check}'.")
