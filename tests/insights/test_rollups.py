"""Rollups equal a direct aggregation of the base tables, after late and out-of-order data too."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import Count, Q, Sum

from annotation.models import (
    Feedback,
    Flag,
    FlagRollup,
    Interaction,
    Project,
    ReviewRollup,
    RollupDirty,
    SliceRollup,
)
from annotation.models.insights import SLICE_FIELDS
from annotation.models.review import ItemState
from annotation.services.rollups import (
    hour_of,
    rollup_rebuild_hour,
    rollups_mark,
    rollups_mark_interactions,
    rollups_rebuild,
    rollups_refresh_dirty,
)
from annotation.tasks.insights import refresh_rollups
from tests.agreement.conftest import annotate
from tests.conftest import Persona
from tests.factories import (
    CheckFactory,
    FeedbackFactory,
    FlagFactory,
    InteractionFactory,
    QueueFactory,
    QueueItemFactory,
)

START = datetime(2026, 11, 20, 8, tzinfo=UTC)
VERSIONS = ("1.4.0", "1.5.0-rc1")


def _traffic(project: Project, rng: random.Random, n: int, *, offset: int = 0) -> list[Interaction]:
    """Interactions over six hours and two model versions, with every kind of feedback."""
    made = []
    for i in range(n):
        version = rng.choice(VERSIONS)
        interaction = InteractionFactory(
            project=project,
            request_id=f"r-{offset + i}",
            timestamp=START + timedelta(minutes=rng.randrange(6 * 60)),
            model_version=version,
            variant=rng.choice(["A", "B"]),
            checked_at=START if rng.random() < 0.9 else None,
        )
        made.append(interaction)
        for _ in range(rng.randrange(3)):
            kind = rng.choice(["rating", "label", "comment", "implicit"])
            if kind == "rating":
                score = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0])
                FeedbackFactory(
                    interaction=interaction,
                    kind="rating",
                    scale="stars5",
                    value=score * 4 + 1,
                    normalized_score=score,
                )
            elif kind == "label":
                FeedbackFactory(
                    interaction=interaction,
                    kind="label",
                    normalized_score=None,
                    scale="",
                    value=None,
                    labels=[rng.choice(["incorrect", "unsafe"])],
                )
            elif kind == "comment":
                FeedbackFactory(
                    interaction=interaction,
                    kind="comment",
                    normalized_score=None,
                    scale="",
                    value=None,
                    text="meh",
                )
            else:
                FeedbackFactory(
                    interaction=interaction,
                    kind="implicit",
                    normalized_score=None,
                    scale="",
                    value=None,
                    event=rng.choice(["copy", "rephrased", "abandoned"]),
                )
    return made


def _direct(project: Project) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The same counters straight from the base tables, per hour and slice."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for interaction in Interaction.objects.filter(project=project):
        key = (hour_of(interaction.timestamp), *(getattr(interaction, f) for f in SLICE_FIELDS))
        row = out.setdefault(
            key,
            {
                "interactions": 0,
                "checked": 0,
                "rated": 0,
                "negative": 0,
                "ratings": 0,
                "rating_sum": 0.0,
                "implicit_negative": 0,
                "feedback": 0,
            },
        )
        feedback = list(Feedback.objects.filter(interaction=interaction))
        ratings = [f.normalized_score for f in feedback if f.kind == "rating"]
        labels = [f for f in feedback if f.kind == "label"]
        row["interactions"] += 1
        row["checked"] += interaction.checked_at is not None
        row["feedback"] += len(feedback)
        row["ratings"] += len(ratings)
        row["rating_sum"] += sum(ratings)
        row["rated"] += bool(ratings or labels)
        row["negative"] += any(s <= 0.4 for s in ratings) or any(
            set(f.labels) & set(project.negative_label_names) for f in labels
        )
        row["implicit_negative"] += any(
            f.kind == "implicit" and f.event in ("abandoned", "rephrased", "regenerated")
            for f in feedback
        )
    return out


def _rolled(project: Project) -> dict[tuple[Any, ...], dict[str, Any]]:
    names = (
        "interactions",
        "checked",
        "rated",
        "negative",
        "ratings",
        "rating_sum",
        "implicit_negative",
        "feedback",
    )
    return {
        (row.hour, *(getattr(row, f) for f in SLICE_FIELDS)): {n: getattr(row, n) for n in names}
        for row in SliceRollup.objects.filter(project=project)
    }


def _assert_equal(project: Project) -> None:
    direct, rolled = _direct(project), _rolled(project)
    assert rolled.keys() == direct.keys()
    for key, row in direct.items():
        assert rolled[key] == pytest.approx(row), key


def test_rollups_equal_a_direct_aggregation(project: Project) -> None:
    _traffic(project, random.Random(1), 120)
    rollups_mark_interactions(interactions=Interaction.objects.filter(project=project))

    assert refresh_rollups.delay().get() == 6

    _assert_equal(project)
    assert not RollupDirty.objects.exists()


def test_late_feedback_and_out_of_order_interactions_are_counted(project: Project) -> None:
    rng = random.Random(2)
    first = _traffic(project, rng, 60)
    rollups_mark_interactions(interactions=Interaction.objects.filter(project=project))
    rollups_refresh_dirty()

    # Feedback arrives an hour later for interactions already rolled up; then interactions with
    # earlier timestamps than everything so far.
    late = first[:10]
    for interaction in late:
        FeedbackFactory(interaction=interaction, kind="rating", normalized_score=0.0)
    rollups_mark(project_id=project.pk, moments=[i.timestamp for i in late])
    early = _traffic(project, rng, 30, offset=1000)
    for interaction in early:
        interaction.timestamp -= timedelta(hours=3)
        interaction.save()
    rollups_mark(project_id=project.pk, moments=[i.timestamp for i in early])
    rollups_refresh_dirty()

    _assert_equal(project)


def test_flags_and_reviews_are_rolled_up(project: Project, annotator: Persona) -> None:
    pii = CheckFactory(project=project, name="pii-check", severity=30)
    queue = QueueFactory(project=project, overlap=1)
    truth = {}
    for n in range(40):
        interaction = InteractionFactory(
            project=project, timestamp=START + timedelta(minutes=n), model_version=VERSIONS[n % 2]
        )
        if n % 4 == 0:
            FlagFactory(check_config=pii, interaction=interaction)
        probability = 1.0 if n % 3 else 0.25
        item = QueueItemFactory(
            queue=queue,
            interaction=interaction,
            state=ItemState.DONE,
            annotations_done=1,
            inclusion_probability=probability,
        )
        verdict = "bad" if n % 5 == 0 else "good"
        annotate(item, annotator, {"verdict": verdict})
        truth[n] = (verdict == "bad", probability, VERSIONS[n % 2])

    rollups_rebuild(project=project, since=START, until=START + timedelta(hours=2))

    flagged = FlagRollup.objects.filter(project=project).aggregate(n=Sum("flagged"))["n"]
    assert flagged == Flag.objects.filter(interaction__project=project).count() == 10
    for version in VERSIONS:
        rows = ReviewRollup.objects.filter(project=project, model_version=version)
        totals = rows.aggregate(
            reviewed=Sum("reviewed"), bad=Sum("bad"), sum_w=Sum("sum_w"), sum_wy=Sum("sum_wy")
        )
        mine = [(b, p) for b, p, v in truth.values() if v == version]
        assert totals["reviewed"] == len(mine)
        assert totals["bad"] == sum(b for b, _ in mine)
        assert totals["sum_w"] == pytest.approx(sum(1 / p for _, p in mine))
        assert totals["sum_wy"] == pytest.approx(sum(b / p for b, p in mine))


def test_a_rebuild_is_idempotent(project: Project) -> None:
    _traffic(project, random.Random(3), 40)
    hour = hour_of(Interaction.objects.filter(project=project).first().timestamp)

    rollup_rebuild_hour(project=project, hour=hour)
    once = sorted(
        SliceRollup.objects.filter(project=project).values_list("interactions", flat=True)
    )
    rollup_rebuild_hour(project=project, hour=hour)
    twice = sorted(
        SliceRollup.objects.filter(project=project).values_list("interactions", flat=True)
    )

    assert once == twice and sum(once) > 0


def test_a_mark_made_during_a_rebuild_is_kept_for_the_next_pass(project: Project) -> None:
    _traffic(project, random.Random(4), 10)
    rollups_mark(project_id=project.pk, moments=[START])
    mark = RollupDirty.objects.get()
    # Another writer marks the same hour again while this pass works on it.
    RollupDirty.objects.filter(pk=mark.pk).update(marked_at=mark.marked_at + timedelta(seconds=1))
    original = mark.marked_at

    deleted, _ = RollupDirty.objects.filter(pk=mark.pk, marked_at=original).delete()

    assert deleted == 0 and RollupDirty.objects.count() == 1


def test_the_rebuild_command_recomputes_a_range(project: Project) -> None:
    from io import StringIO

    from django.core.management import call_command

    _traffic(project, random.Random(5), 50)
    out = StringIO()

    call_command(
        "rebuild_rollups",
        "--project",
        project.name,
        "--since",
        "2026-11-20T00:00:00Z",
        "--until",
        "2026-11-21T00:00:00Z",
        stdout=out,
    )

    assert "Rebuilt 6 hours" in out.getvalue()
    _assert_equal(project)
    counted = SliceRollup.objects.filter(project=project).aggregate(n=Sum("interactions"))["n"]
    assert counted == Interaction.objects.filter(project=project).count()
    assert (
        Interaction.objects.filter(project=project).aggregate(
            n=Count("pk", filter=Q(checked_at__isnull=False))
        )["n"]
        == SliceRollup.objects.filter(project=project).aggregate(n=Sum("checked"))["n"]
    )


def test_ingestion_feedback_and_checks_mark_what_the_beat_task_rebuilds(
    project: Project, ingest_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    items = [
        {
            "request_id": f"m-{n}",
            "timestamp": (START + timedelta(minutes=50 * n)).isoformat(),
            "model_version": VERSIONS[n % 2],
            "prompt": "Where is my invoice?",
            "response": "Write to kim@example.org" if n % 3 == 0 else "Under Billing.",
        }
        for n in range(8)
    ]
    with django_capture_on_commit_callbacks(execute=True):  # the checks run after commit
        response = ingest_client.post("/api/v1/interactions", {"items": items}, format="json")
    assert response.status_code == 201
    refresh_rollups.delay().get()
    _assert_equal(project)

    # Late feedback, one of it before its interaction arrives.
    feedback = [
        {"request_id": "m-1", "kind": "rating", "value": 0, "scale": "thumbs"},
        {"request_id": "m-2", "kind": "label", "labels": ["incorrect"]},
        {"request_id": "m-9", "kind": "implicit", "event": "regenerated"},
    ]
    assert (
        ingest_client.post("/api/v1/feedback", {"items": feedback}, format="json").status_code
        == 201
    )
    late = {**items[0], "request_id": "m-9", "timestamp": (START - timedelta(hours=5)).isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_client.post("/api/v1/interactions", late, format="json").status_code == 201
    refresh_rollups.delay().get()

    _assert_equal(project)
    flagged = FlagRollup.objects.filter(project=project).aggregate(n=Sum("flagged"))["n"]
    assert flagged == Flag.objects.filter(interaction__project=project, flagged=True).count() == 4
    assert SliceRollup.objects.filter(project=project).aggregate(n=Sum("checked"))["n"] == 9
