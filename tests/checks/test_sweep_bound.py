"""The unchecked-interactions sweep queues a bounded batch per tick, oldest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from annotation.models import Interaction, Project
from annotation.services.checks import checks_sweep
from tests.factories import InteractionFactory, ProjectFactory


def test_it_queues_at_most_the_limit_oldest_first_across_projects(
    project: Project, settings: Any
) -> None:
    settings.CHECKS_SWEEP_LIMIT = 3
    other = ProjectFactory()
    now = timezone.now()
    ages = [(project, 50), (other, 40), (project, 30), (other, 20), (project, 10)]
    rows = [
        InteractionFactory(project=owner, received_at=now - timedelta(minutes=minutes))
        for owner, minutes in ages
    ]

    first_tick = checks_sweep(older_than=timedelta(0), batch=1)
    checked_first = set(
        Interaction.objects.filter(checked_at__isnull=False).values_list("pk", flat=True)
    )
    second_tick = checks_sweep(older_than=timedelta(0), batch=1)

    assert first_tick == 3 and checked_first == {row.pk for row in rows[:3]}
    assert second_tick == 2
    assert not Interaction.objects.filter(checked_at__isnull=True).exists()


def test_it_queues_nothing_younger_than_the_grace_period(project: Project) -> None:
    InteractionFactory(project=project, received_at=timezone.now())

    assert checks_sweep(older_than=timedelta(minutes=5)) == 0
