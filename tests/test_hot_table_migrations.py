"""Indexes on the hot tables (interactions, feedback) are built without blocking writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.postgres.operations import NotInTransactionMixin
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddIndex, RemoveIndex
from django.db.models import Q
from django.utils import timezone

from annotation.models import Feedback, Interaction
from annotation.selectors.interactions import interaction_feedback_page
from tests.factories import FeedbackFactory, InteractionFactory

HOT = {"interaction", "feedback"}
# Migrations before this round built their indexes with the tables, before there were rows.
FIRST_OF_THIS_ROUND = 6


def _index_operations() -> list[tuple[str, object, bool]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = []
    for (app, name), migration in loader.disk_migrations.items():
        if app != "annotation" or int(name[:4]) < FIRST_OF_THIS_ROUND:
            continue
        for operation in migration.operations:
            if isinstance(operation, AddIndex | RemoveIndex) and operation.model_name in HOT:
                found.append((name, operation, migration.atomic))
    return found


def test_it_builds_every_new_index_on_a_hot_table_concurrently_outside_a_transaction() -> None:
    operations = _index_operations()

    assert operations, "the feedback read-back index is expected among them"
    for name, operation, atomic in operations:
        assert isinstance(operation, NotInTransactionMixin), name
        assert atomic is False, name


@pytest.mark.postgresql
def test_it_pages_an_interaction_s_feedback_from_its_index(db: object) -> None:
    interaction: Interaction = InteractionFactory()
    now = timezone.now()
    for n in range(5):
        FeedbackFactory(interaction=interaction, timestamp=now - timedelta(minutes=n))
    first = interaction_feedback_page(interaction=interaction, limit=2)
    assert first.next_after is not None
    with connection.cursor() as cursor:
        # The test's rows fit in one page: take the planner's shortcuts away, so the plan shows
        # whether the index can serve this page in order (bitmap scans return rows unordered).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    after = first.next_after
    plan = (
        Feedback.objects.filter(interaction=interaction)
        .filter(Q(timestamp__lt=after[0]) | Q(timestamp=after[0], id__lt=after[1]))
        .order_by("-timestamp", "-id")[:3]
        .explain()
    )

    assert "feedback_interaction_page" in plan
    assert "Sort" not in plan


def test_it_migrates_an_empty_sqlite_database_with_the_same_indexes(tmp_path: Path) -> None:
    database = tmp_path / "demo.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "true",
        "SECRET_KEY": settings.SECRET_KEY,
    }

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )

    with sqlite3.connect(database) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "feedback_interaction_page" in names
