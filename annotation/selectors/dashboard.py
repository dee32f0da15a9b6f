"""What the insights dashboards read besides the metric series: who may read them, the slice
values a filter can offer, the project's checks and the reviewed quality per slice value.

Everything reads the hourly rollups (annotation/models/insights.py), never the interactions.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Sum
from django.urls import reverse

from annotation.insights.query import DIMENSIONS, Range, SliceFilter
from annotation.models import Check, Membership, Project, ReviewRollup, SliceRollup
from annotation.selectors.access import READERS
from annotation.selectors.metrics import FEW_REVIEWS, metric_value

# A filter offers at most this many values of a dimension (the most frequent in the range).
MAX_CHOICES = 100
# The flag-rate charts of at most this many checks (by name); the compare page shows them all.
MAX_CHECK_CHARTS = 8


def insights_projects(user: User | AnonymousUser) -> list[Project]:
    """The projects the user leads or engineers, by name: those whose dashboards they read."""
    if not user.is_authenticated:
        return []
    return [
        membership.project
        for membership in Membership.objects.filter(user_id=user.pk, role__in=READERS)
        .select_related("project")
        .order_by("project__name")
    ]


def insights_landing(user: User | AnonymousUser) -> str:
    """The overview URL of the first project (by name) the user leads or engineers, or ""."""
    if not user.is_authenticated:
        return ""
    name = (
        Membership.objects.filter(user_id=user.pk, role__in=READERS)
        .order_by("project__name")
        .values_list("project__name", flat=True)
        .first()
    )
    return reverse("insights-overview", args=[name]) if name else ""


def dashboard_choices(project: Project, window: Range) -> dict[str, list[str]]:
    """Per dimension, the values the project's rollups hold in the range, most frequent first
    (one query over the range's distinct slices)."""
    combos = (
        SliceRollup.objects.filter(project=project, hour__gte=window.since, hour__lt=window.until)
        .values(*DIMENSIONS)
        .annotate(n=Sum("interactions"))
    )
    totals: dict[str, dict[str, int]] = {dimension: {} for dimension in DIMENSIONS}
    for combo in combos:
        for dimension in DIMENSIONS:
            value = combo[dimension]
            totals[dimension][value] = totals[dimension].get(value, 0) + int(combo["n"] or 0)
    return {
        dimension: sorted(counts, key=lambda value: (-counts[value], value))[:MAX_CHOICES]
        for dimension, counts in totals.items()
    }


def dashboard_checks(project: Project) -> list[Check]:
    return list(Check.objects.filter(project=project).order_by("name")[:MAX_CHECK_CHARTS])


def reviewed_quality(
    *, project: Project, window: Range, filters: SliceFilter, dimension: str
) -> list[dict[str, Any]]:
    """Per value of `dimension`: the naive bad rate among settled reviews beside the Hájek
    estimate of the true rate, its 95% interval and the n it rests on (most reviewed first)."""
    rows = ReviewRollup.objects.filter(
        project=project, hour__gte=window.since, hour__lt=window.until
    )
    for name, values in filters.values.items():
        rows = rows.filter(**{f"{name}__in": values})
    sums = rows.values(dimension).annotate(
        **{name: Sum(name) for name in ("reviewed", "bad", "sum_w", "sum_wy", "sum_a", "sum_ay")}
    )
    quality = []
    for row in sums:
        figure = metric_value("reviewed_bad_rate", row)
        quality.append(
            {
                "value": row[dimension],
                "n": figure["count"],
                "naive": figure["naive"],
                "weighted": figure["value"],
                "ci95": figure["ci95"],
                "too_few": figure["count"] < FEW_REVIEWS,
            }
        )
    quality.sort(key=lambda entry: (-entry["n"], entry["value"]))
    return quality
