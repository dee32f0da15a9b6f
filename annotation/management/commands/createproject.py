from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import Project
from annotation.services.projects import project_create


class Command(BaseCommand):
    help = "Create a project and print its ingestion key once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Lowercase letters, digits, '-' or '_'.")
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, name: str, description: str, **options: Any) -> None:
        if Project.objects.filter(name=name).exists():
            raise CommandError(f"Project '{name}' already exists; pick another name.")
        try:
            created = project_create(name=name, description=description)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created project '{name}'. Its ingestion key (shown only now):")
        self.stdout.write(created.secret)
