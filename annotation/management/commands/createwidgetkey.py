from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import Project
from annotation.services.widget import widget_key_create


class Command(BaseCommand):
    help = (
        "Create a public feedback-widget key for a project, usable only from the given origins; "
        "print it alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project")
        parser.add_argument(
            "--origin",
            action="append",
            required=True,
            help="An origin whose pages embed the widget, e.g. https://app.example.com (repeat).",
        )
        parser.add_argument("--name", default="widget")

    def handle(
        self, *args: Any, project: str, origin: list[str], name: str, **options: Any
    ) -> None:
        found = Project.objects.filter(name=project).first()
        if found is None:
            raise CommandError(f"No project '{project}'; create it with createproject.")
        try:
            created = widget_key_create(project=found, origins=origin, name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        allowed = ", ".join(created.obj.allowed_origins)
        self.stdout.write(f"Widget key for '{project}', usable from {allowed} (shown only now):")
        self.stdout.write(created.secret)
