"""manage.py enforce_retention [--project P]: what Celery beat runs daily."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import Project
from annotation.services.retention import retention_enforce, retention_enforce_all


class Command(BaseCommand):
    help = "Delete interactions older than each project's retention (in bounded batches)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="Only this project (default: every project).")

    def handle(self, *args: Any, project: str | None, **options: Any) -> None:
        if project:
            found = Project.objects.filter(name=project).first()
            if found is None:
                raise CommandError(f"No project '{project}'.")
            run = retention_enforce(project=found)
            if run is None:
                self.stdout.write(f"'{project}' keeps its interactions (no retention set).")
                return
            runs = [run]
        else:
            runs = retention_enforce_all()
        for run in runs:
            deleted = ", ".join(f"{table}: {n}" for table, n in run.counts.items())
            self.stdout.write(
                f"{run.project.name}: older than {run.cutoff:%Y-%m-%d %H:%M} UTC deleted {deleted}; "
                f"kept {run.kept} reviewed or exported"
                + ("; more left for the next run" if run.more else "")
            )
        if not runs:
            self.stdout.write("No project sets a retention period.")
