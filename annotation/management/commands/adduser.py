from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import Project, Role
from annotation.services.projects import member_upsert


class Command(BaseCommand):
    help = "Create or update a user and their role in a project; print a new API token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--project", required=True)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--password", default=None, help="Set or change the login password.")

    def handle(
        self,
        *args: Any,
        username: str,
        project: str,
        role: str,
        password: str | None,
        **options: Any,
    ) -> None:
        found = Project.objects.filter(name=project).first()
        if found is None:
            raise CommandError(f"No project '{project}'; create it with `manage.py createproject`.")
        created = member_upsert(username=username, project=found, role=role, password=password)
        self.stdout.write(f"{username} is {role} of {project}. API token (shown only now):")
        self.stdout.write(created.secret)
