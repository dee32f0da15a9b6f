"""manage.py erase_user --project P (--user-id ID | --session-id ID) [--actor USERNAME]"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import AppError
from annotation.models import Project
from annotation.services.erasure import privacy_erase


class Command(BaseCommand):
    help = (
        "Erase one end user's data from a project (interactions, feedback, flags, queue items, "
        "annotations), recompute their rollup hours and mark the exports that held it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True)
        parser.add_argument("--user-id", help="The raw id the application sent.")
        parser.add_argument("--session-id")
        parser.add_argument("--actor", help="Username recorded in the audit log.")
        parser.add_argument("--batch-size", type=int, help="Interactions per batch.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"No project '{options['project']}'.")
        actor = None
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(f"No user '{options['actor']}'.")
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            erasure = privacy_erase(
                project=project,
                actor=actor,
                user_id=options["user_id"],
                session_id=options["session_id"],
                batch_size=options["batch_size"],
            )
        except AppError as exc:
            raise CommandError(
                exc.message.replace("`user_id`", "--user-id").replace(
                    "`session_id`", "--session-id"
                )
            ) from None
        for table, n in erasure.as_dict().items():
            self.stdout.write(f"{table}: {n}")
        self.stdout.write(
            f"Recomputed {len(erasure.hours)} rollup hours; marked {len(erasure.exports)} exports."
        )
