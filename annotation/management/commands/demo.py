from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from annotation.demo import generate
from annotation.models import Project, Role
from annotation.services.ingestion import feedback_ingest, interactions_ingest
from annotation.services.projects import member_upsert, project_create, project_key_create

PROJECT = "support-bot"
PEOPLE = [
    ("lead", Role.LEAD),
    ("ann1", Role.ANNOTATOR),
    ("ann2", Role.ANNOTATOR),
    ("ann3", Role.ANNOTATOR),
    ("engineer", Role.ENGINEER),
]


class Command(BaseCommand):
    help = "Create a demo project, its people and ~2,000 realistic interactions with feedback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interactions", type=int, default=2000)
        parser.add_argument("--password", default=None, help="Password for every demo user.")
        parser.add_argument("--seed", type=int, default=7)

    @transaction.atomic
    def handle(
        self, *args: Any, interactions: int, password: str | None, seed: int, **options: Any
    ) -> None:
        password = password or f"demo-{secrets.token_hex(4)}"
        project = Project.objects.filter(name=PROJECT).first()
        if project is None:
            key = project_create(name=PROJECT, description="Cloudnest's support assistant.").secret
            project = Project.objects.get(name=PROJECT)
        else:
            key = project_key_create(project=project, name="demo").secret
        tokens = {
            username: member_upsert(
                username=username, project=project, role=role, password=password
            ).secret
            for username, role in PEOPLE
        }
        admin, _ = get_user_model().objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()

        rows = list(generate(interactions, seed=seed, now=timezone.now()))
        created = 0
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            result = interactions_ingest(project=project, items=[i for i, _ in chunk])
            created += result.created
            seen = set(result.duplicates)
            feedback_ingest(
                project=project,
                items=[f for i, fs in chunk if i.request_id not in seen for f in fs],
            )

        self.stdout.write(f"Project '{PROJECT}': {created} new interactions (of {len(rows)}).")
        self.stdout.write(f"Ingestion key: {key}")
        self.stdout.write("Log in at http://127.0.0.1:8000/ (admin at /admin/) with:")
        for username, role in [("admin", "superuser"), *[(u, r.value) for u, r in PEOPLE]]:
            self.stdout.write(f"  {username:<9} {password}   ({role})")
        self.stdout.write("API tokens: " + ", ".join(f"{u}={t}" for u, t in tokens.items()))
