from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from annotation.demo import generate, preference_pairs
from annotation.demo_setup import demo_checks_run, demo_review_setup
from annotation.models import Project, Role
from annotation.schemas.ingestion import FeedbackIn, InteractionIn
from annotation.services.ingestion import feedback_ingest, interactions_ingest
from annotation.services.projects import member_upsert, project_create, project_key_create
from annotation.services.rollups import rollups_rebuild

PROJECT = "support-bot"
PEOPLE = [
    ("lead", Role.LEAD),
    ("ann1", Role.ANNOTATOR),
    ("ann2", Role.ANNOTATOR),
    ("ann3", Role.ANNOTATOR),
    ("engineer", Role.ENGINEER),
]
LANDS_ON = {
    "admin": "nothing: use the admin at /admin/",
    "lead": "the project overview",
    "ann1": "my queues (start here)",
    "ann2": "my queues",
    "ann3": "my queues",
    "engineer": "exports",
}


class Command(BaseCommand):
    help = (
        "Create a demo project with ~2,000 realistic interactions and their feedback, preference "
        "pairs, a guideline and two filled review queues with assigned annotators."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interactions", type=int, default=2000)
        parser.add_argument("--pairs", type=int, default=120, help="A/B preference pairs.")
        parser.add_argument("--password", default=None, help="Password for every demo user.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="Where hh-rlhf-harmless-base-test.jsonl.gz may be (default: ../shared/data).",
        )

    def handle(
        self,
        *args: Any,
        interactions: int,
        pairs: int,
        password: str | None,
        seed: int,
        data_dir: Path | None,
        **options: Any,
    ) -> None:
        password = password or f"demo-{secrets.token_hex(4)}"
        with transaction.atomic():
            project, key, tokens = self._people(password)
        now = timezone.now()
        rows = list(generate(interactions, seed=seed, now=now))
        source, pair_rows = preference_pairs(pairs, seed=seed, now=now, data_dir=data_dir)
        created = self._ingest(project, rows + pair_rows)
        checked = demo_checks_run(project)
        users = {
            user.username: user
            for user in get_user_model().objects.filter(username__in=[name for name, _ in PEOPLE])
        }
        review = demo_review_setup(
            project=project,
            lead=users["lead"],
            annotators=[users["ann1"], users["ann2"], users["ann3"]],
            seed=seed,
        )
        hours = rollups_rebuild(project=project, since=now - timedelta(days=15), until=now)

        self.stdout.write(
            f"Project '{PROJECT}': {created} new interactions (of {len(rows) + len(pair_rows)}: "
            f"{len(rows)} support conversations, {len(pair_rows)} A/B pairs from {source})."
        )
        if checked:
            self.stdout.write(f"Checked {checked} interactions with the rule checks.")
        for queue in review.queues:
            self.stdout.write(
                f"Queue '{queue.name}': {queue.items.count()} items, overlap {queue.overlap}, "
                "annotators ann1-ann3."
            )
        self.stdout.write(
            f"Guideline v{review.guideline.version}; {review.annotations} annotations already made "
            f"by ann2 and ann3; dashboards rolled up over {hours} hours."
        )
        self.stdout.write(f"Ingestion key: {key}")
        self.stdout.write("API tokens: " + ", ".join(f"{u}={t}" for u, t in tokens.items()))
        self._box(password)

    def _people(self, password: str) -> tuple[Project, str, dict[str, str]]:
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
        return project, key, tokens

    def _ingest(self, project: Project, rows: list[tuple[InteractionIn, list[FeedbackIn]]]) -> int:
        created = 0
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            # One transaction per chunk: its checks run as it commits (eagerly without a broker).
            with transaction.atomic():
                result = interactions_ingest(project=project, items=[i for i, _ in chunk])
                seen = set(result.duplicates)
                feedback_ingest(
                    project=project,
                    items=[f for i, fs in chunk if i.request_id not in seen for f in fs],
                )
            created += result.created
        return created

    def _box(self, password: str) -> None:
        """The credentials, last and framed, so they are what the terminal shows."""
        lines = [
            "Log in at http://127.0.0.1:8000/ (admin at /admin/)",
            f"Password for everyone: {password}",
            "",
            *[
                f"  {name:<9} {role:<10} lands on {LANDS_ON[name]}"
                for name, role in [("admin", "superuser"), *[(u, r.value) for u, r in PEOPLE]]
            ],
        ]
        width = max(len(line) for line in lines)
        self.stdout.write("┌" + "─" * (width + 2) + "┐")
        for line in lines:
            self.stdout.write(f"│ {line:<{width}} │")
        self.stdout.write("└" + "─" * (width + 2) + "┘")
