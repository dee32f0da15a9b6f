"""Retention on a fixed clock: what is deleted, what keep_reviewed keeps, batches, runs shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotation.models import Export, Feedback, Interaction, Project, QueueItem
from annotation.models.privacy import RetentionRun
from annotation.models.review import ItemState
from annotation.services.export_contents import ExportContents
from annotation.services.retention import retention_enforce, retention_enforce_all
from tests.factories import (
    FeedbackFactory,
    FlagFactory,
    InteractionFactory,
    QueueFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _retain(project: Project, days: int | None, keep_reviewed: bool = False) -> Project:
    project.retention_days = days
    project.keep_reviewed = keep_reviewed
    project.save(update_fields=["retention_days", "keep_reviewed"])
    return project


def _aged(project: Project, days: float, request_id: str) -> Interaction:
    return InteractionFactory(
        project=project, request_id=request_id, timestamp=NOW - timedelta(days=days)
    )


def test_it_deletes_interactions_older_than_the_retention_with_their_dependants(
    project: Project,
) -> None:
    _retain(project, 30)
    old = _aged(project, 31, "old")
    _aged(project, 29, "young")
    FeedbackFactory(interaction=old)
    FlagFactory(interaction=old, check_config__project=project, project=project)
    _done_item(project, old)

    run = retention_enforce(project=project, now=NOW)

    assert run is not None
    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["young"]
    assert run.counts["interactions"] == 1
    assert run.counts["feedback"] == 1
    assert run.counts["flags"] == 1
    assert run.counts["queue_items"] == 1
    assert run.cutoff == NOW - timedelta(days=30)
    assert run.more is False
    assert RetentionRun.objects.get(pk=run.pk).finished_at is not None


def _done_item(project: Project, target: Interaction) -> QueueItem:
    queue = QueueFactory(project=project)
    return QueueItem.objects.create(
        queue=queue,
        interaction=target,
        reasons=["random"],
        inclusion_probability=0.5,
        state=ItemState.DONE,
        annotations_wanted=1,
        annotations_done=1,
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_boundary_is_exact_on_the_frozen_clock(project: Project) -> None:
    _retain(project, 30)
    InteractionFactory(project=project, request_id="at", timestamp=NOW - timedelta(days=30))
    InteractionFactory(
        project=project, request_id="just-past", timestamp=NOW - timedelta(days=30, seconds=1)
    )

    retention_enforce(project=project, now=NOW)

    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["at"]


def test_keep_reviewed_keeps_reviewed_and_exported_interactions(project: Project) -> None:
    _retain(project, 30, keep_reviewed=True)
    reviewed = _aged(project, 40, "reviewed")
    _done_item(project, reviewed)
    exported = _aged(project, 40, "exported")
    export = Export.objects.create(project=project, kind="sft")
    contents = ExportContents(export.pk)
    contents.add("exported", 1)
    contents.save()
    _aged(project, 40, "plain")
    pending = _aged(project, 40, "queued-not-reviewed")
    item = _done_item(project, pending)
    QueueItem.objects.filter(pk=item.pk).update(state=ItemState.OPEN)

    run = retention_enforce(project=project, now=NOW)

    assert run is not None
    assert sorted(Interaction.objects.values_list("request_id", flat=True)) == [
        "exported",
        "reviewed",
    ]
    assert run.kept == 2
    assert run.counts["interactions"] == 2
    assert exported.pk


def test_without_keep_reviewed_reviewed_interactions_go_too(project: Project) -> None:
    _retain(project, 30, keep_reviewed=False)
    _done_item(project, _aged(project, 40, "reviewed"))

    run = retention_enforce(project=project, now=NOW)

    assert run is not None and run.kept == 0
    assert not Interaction.objects.exists()


def test_a_run_deletes_in_bounded_batches_and_the_next_run_goes_on(project: Project) -> None:
    _retain(project, 30)
    for n in range(5):
        _aged(project, 40, f"old-{n}")

    first = retention_enforce(project=project, now=NOW, batch_size=2, max_batches=2)

    assert first is not None
    assert first.counts["interactions"] == 4
    assert first.more is True
    assert Interaction.objects.count() == 1
    second = retention_enforce(project=project, now=NOW, batch_size=2, max_batches=2)
    assert second is not None
    assert second.counts["interactions"] == 1
    assert second.more is False
    assert not Interaction.objects.exists()


def test_old_feedback_still_waiting_for_its_interaction_is_deleted(project: Project) -> None:
    _retain(project, 30)
    Feedback.objects.create(
        project=project,
        request_id="never-arrived",
        kind="comment",
        text="lost",
        timestamp=NOW - timedelta(days=31),
        received_at=NOW - timedelta(days=31),
    )
    Feedback.objects.create(
        project=project,
        request_id="soon",
        kind="comment",
        text="waiting",
        timestamp=NOW - timedelta(days=1),
        received_at=NOW - timedelta(days=1),
    )

    run = retention_enforce(project=project, now=NOW)

    assert run is not None and run.counts["feedback"] == 1
    assert list(Feedback.objects.values_list("request_id", flat=True)) == ["soon"]


def test_projects_without_retention_keep_everything(
    project: Project, other_keyed_project: Any
) -> None:
    _retain(project, None)
    _aged(project, 4000, "ancient")
    other = _retain(other_keyed_project.project, 1)
    _aged(other, 2, "old-other")

    runs = retention_enforce_all(now=NOW)

    assert [run.project.name for run in runs] == ["other-bot"]
    assert list(Interaction.objects.values_list("request_id", flat=True)) == ["ancient"]
    assert retention_enforce(project=project, now=NOW) is None


def test_the_beat_task_runs_on_the_heavy_queue_daily(settings: Any) -> None:
    from feedbackloop.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["enforce-retention"]
    assert entry["task"] == "annotation.tasks.privacy.enforce_retention"
    assert entry["schedule"] == 24 * 3600.0
    route = app.amqp.router.route({}, "annotation.tasks.privacy.enforce_retention")
    assert route["queue"].name == "heavy"
    assert "heavy" in settings.CELERY_TASK_QUEUES


def test_the_task_enforces_every_project(project: Project) -> None:
    from annotation.tasks.privacy import enforce_retention

    _retain(project, 1)
    InteractionFactory(project=project, timestamp=timezone.now() - timedelta(days=3))

    result = enforce_retention.delay().get()

    assert result["support-bot"]["interactions"] == 1
    assert not Interaction.objects.exists()


def test_the_command_prints_the_counts(project: Project) -> None:
    _retain(project, 1)
    InteractionFactory(project=project, timestamp=timezone.now() - timedelta(days=3))
    out = StringIO()

    call_command("enforce_retention", "--project", project.name, stdout=out)

    assert "support-bot: older than" in out.getvalue()
    assert "interactions: 1" in out.getvalue()
    assert not Interaction.objects.exists()
