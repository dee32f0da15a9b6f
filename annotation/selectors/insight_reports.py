"""Reads behind the insight reports: stored reports, rollup sums per template, and the bounded
scans of interactions, feedback and settled reviews that the Celery-computed reports need."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Min, Sum

from annotation.insights.definitions import NEGATIVE_RATING
from annotation.insights.query import Range
from annotation.insights.reports import template_row
from annotation.insights.slices import SliceCount
from annotation.models import (
    Adjudication,
    Annotation,
    Feedback,
    FlagRollup,
    InsightReport,
    Interaction,
    Project,
    QueueItem,
    ReviewRollup,
    SliceRollup,
)
from annotation.models.insights import SLICE_FIELDS
from annotation.models.review import ItemState
from annotation.review.settle import SchemaRoles, schema_roles, settle

_BATCH = 2_000
# Bounds of the scans behind stored reports (the newest rows of the window are kept).
MAX_RATED_SCANNED = 1_000_000
MAX_CONTEXT_SCANNED = 100_000
MAX_REVIEWS_SCANNED = 20_000


def insight_report_latest(project: Project, kind: str) -> InsightReport | None:
    """The newest report of this kind, whatever its state."""
    return (
        InsightReport.objects.filter(project=project, kind=kind).order_by("-requested_at").first()
    )


def insight_report_latest_done(project: Project, kind: str) -> InsightReport | None:
    return (
        InsightReport.objects.filter(project=project, kind=kind, state=InsightReport.State.DONE)
        .order_by("-requested_at")
        .first()
    )


def _rollups(model: Any, project: Project, window: Range) -> Any:
    return model.objects.filter(project=project, hour__gte=window.since, hour__lt=window.until)


def dimension_slices(project: Project, window: Range) -> tuple[list[SliceCount], int, int]:
    """Rated and negative interactions of every value of every dimension, and the totals, from
    the rollups in one grouped query (one row per slice combination, summed over hours)."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    total_rated = total_negative = 0
    rows = (
        _rollups(SliceRollup, project, window)
        .values_list(*SLICE_FIELDS)
        .annotate(r=Sum("rated"), n=Sum("negative"))
        .order_by()
    )
    for *values, rated, negative in rows:
        rated, negative = int(rated or 0), int(negative or 0)
        total_rated += rated
        total_negative += negative
        for dimension, value in zip(SLICE_FIELDS, values, strict=True):
            if value:
                entry = sums[(dimension, value)]
                entry[0] += rated
                entry[1] += negative
    found = [
        SliceCount("dimension", dimension, value, rated, negative)
        for (dimension, value), (rated, negative) in sums.items()
    ]
    return found, total_rated, total_negative


def template_report(project: Project, window: Range) -> list[dict[str, Any]]:
    """Per prompt template and version: volume, negative rate, rating, flag rates, reviewed bad."""
    keys = ("prompt_template", "prompt_template_version")
    names = ("interactions", "checked", "rated", "negative", "ratings", "rating_sum")
    sums = {
        (row["prompt_template"], row["prompt_template_version"]): row
        for row in _rollups(SliceRollup, project, window)
        .values(*keys)
        .annotate(**{name: Sum(name) for name in names})
    }
    flags: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for row in (
        _rollups(FlagRollup, project, window)
        .values(*keys, "check_config__name")
        .annotate(flagged=Sum("flagged"))
    ):
        key = (row["prompt_template"], row["prompt_template_version"])
        flags[key][row["check_config__name"]] = int(row["flagged"])
    review_names = ("reviewed", "bad", "sum_w", "sum_wy", "sum_a", "sum_ay")
    reviews = {
        (row["prompt_template"], row["prompt_template_version"]): row
        for row in _rollups(ReviewRollup, project, window)
        .values(*keys)
        .annotate(**{name: Sum(name) for name in review_names})
    }
    rows = []
    for key in sorted(set(sums) | set(reviews)):
        rows.append(
            {
                "prompt_template": key[0],
                "prompt_template_version": key[1],
                **template_row(sums.get(key, {}), flags.get(key, {}), reviews.get(key, {})),
            }
        )
    return rows


def interaction_negativity(project: Project, window: Range) -> dict[int, bool]:
    """Rated interactions of the window (newest MAX_RATED_SCANNED) → whether negative.

    The rollups' definition: a rating ≤ 0.4 normalised or a label among the project's negative
    taxonomy labels.
    """
    negative_labels = set(project.negative_label_names)
    rows = (
        Feedback.objects.filter(
            interaction__project=project,
            interaction__timestamp__gte=window.since,
            interaction__timestamp__lt=window.until,
            kind__in=("rating", "label"),
        )
        .order_by("-interaction__timestamp")
        .values_list("interaction_id", "kind", "normalized_score", "labels")
    )
    outcome: dict[int, bool] = {}
    for interaction_id, kind, score, labels in rows.iterator(chunk_size=10_000):
        if kind == "rating":
            if score is None:
                continue
            negative = score <= NEGATIVE_RATING
        else:
            negative = bool(negative_labels.intersection(labels or ()))
        if interaction_id not in outcome and len(outcome) >= MAX_RATED_SCANNED:
            break
        outcome[interaction_id] = outcome.get(interaction_id, False) or negative
    return outcome


def interaction_fields(ids: list[int], *fields: str) -> Iterator[tuple[Any, ...]]:
    """(pk, *fields) of these interactions, fetched in batches."""
    for start in range(0, len(ids), _BATCH):
        yield from Interaction.objects.filter(pk__in=ids[start : start + _BATCH]).values_list(
            "pk", *fields
        )


def user_reasons(project: Project, window: Range) -> Iterator[tuple[str, list[str]]]:
    """(model_version, labels) of every label feedback in the window, one per interaction."""
    seen: set[int] = set()
    rows = Feedback.objects.filter(
        interaction__project=project,
        interaction__timestamp__gte=window.since,
        interaction__timestamp__lt=window.until,
        kind="label",
    ).values_list("interaction_id", "interaction__model_version", "labels")
    merged: dict[int, tuple[str, set[str]]] = {}
    for interaction_id, version, labels in rows.iterator(chunk_size=10_000):
        entry = merged.setdefault(interaction_id, (version, set()))
        entry[1].update(str(label) for label in labels or ())
        seen.add(interaction_id)
    for version, labels in merged.values():
        yield version, sorted(labels)


def rated_by_version(project: Project, window: Range) -> dict[str, int]:
    return {
        row["model_version"]: int(row["r"] or 0)
        for row in _rollups(SliceRollup, project, window)
        .values("model_version")
        .annotate(r=Sum("rated"))
    }


def versions_by_first_seen(project: Project) -> list[str]:
    """Model versions of the project, oldest first (by their first hour in the rollups)."""
    rows = (
        SliceRollup.objects.filter(project=project)
        .exclude(model_version="")
        .values("model_version")
        .annotate(first=Min("hour"))
        .order_by("first", "model_version")
    )
    return [row["model_version"] for row in rows]


@dataclass(frozen=True)
class SettledReview:
    interaction_id: int
    model_version: str
    roles: SchemaRoles
    values: dict[str, Any]


def settled_reviews(project: Project, window: Range) -> Iterator[SettledReview]:
    """Settled review items of interactions in the window (newest MAX_REVIEWS_SCANNED)."""
    items = list(
        QueueItem.objects.filter(
            queue__project=project,
            interaction__timestamp__gte=window.since,
            interaction__timestamp__lt=window.until,
            state=ItemState.DONE,
        )
        .order_by("-interaction__timestamp")
        .values_list(
            "pk", "interaction_id", "interaction__model_version", "queue_id", "queue__schema"
        )[:MAX_REVIEWS_SCANNED]
    )
    roles_by_queue: dict[int, SchemaRoles] = {}
    for start in range(0, len(items), _BATCH):
        batch = items[start : start + _BATCH]
        ids = [item[0] for item in batch]
        answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for item_id, values in (
            Annotation.objects.filter(item_id__in=ids)
            .order_by("item_id", "created_at", "pk")
            .values_list("item_id", "values")
        ):
            if isinstance(values, dict):
                answers[item_id].append(values)
        adjudicated = dict(
            Adjudication.objects.filter(item_id__in=ids).values_list("item_id", "values")
        )
        for item_id, interaction_id, version, queue_id, schema in batch:
            roles = roles_by_queue.get(queue_id)
            if roles is None:
                roles = roles_by_queue[queue_id] = schema_roles(schema or {})
            if not (answers.get(item_id) or adjudicated.get(item_id)):
                continue
            outcome = settle(roles, answers.get(item_id, []), adjudicated.get(item_id))
            if outcome.settled:
                yield SettledReview(interaction_id, version, roles, dict(outcome.values))


def review_comments(
    project: Project, window: Range, limit: int
) -> Iterator[tuple[str, datetime, int]]:
    """(text, created_at, interaction id) of reviewers' free-text answers, newest first."""
    rows = (
        Annotation.objects.filter(
            item__queue__project=project,
            created_at__gte=window.since,
            created_at__lt=window.until,
        )
        .order_by("-created_at")
        .values_list("values", "created_at", "item__interaction_id", "item__queue__schema")
    )
    roles_by_schema: dict[str, list[str]] = {}
    found = 0
    for values, created_at, interaction_id, schema in rows.iterator(chunk_size=2_000):
        if not isinstance(values, dict):
            continue
        key = repr(schema)
        names = roles_by_schema.get(key)
        if names is None:
            roles = schema_roles(schema or {})
            names = roles_by_schema[key] = [f.name for f in roles.fields if f.type == "text"]
        for name in names:
            text = values.get(name)
            if isinstance(text, str) and text.strip():
                yield text.strip(), created_at, interaction_id
                found += 1
                if found >= limit:
                    return


def user_comments(
    project: Project, window: Range, limit: int
) -> Iterator[tuple[str, datetime, int | None]]:
    """(text, timestamp, interaction id) of users' comment feedback, newest first."""
    rows = (
        Feedback.objects.filter(
            project=project, kind="comment", timestamp__gte=window.since, timestamp__lt=window.until
        )
        .exclude(text="")
        .order_by("-timestamp")
        .values_list("text", "timestamp", "interaction_id")[:limit]
    )
    yield from rows.iterator(chunk_size=5_000)


# -- the reports as the API and the pages show them ----------------------------------------------


def explorer_link(project: Project, window: Range, params: list[tuple[str, str]]) -> str:
    """The interaction explorer, filtered to the interactions behind a row."""
    from urllib.parse import urlencode

    from django.urls import reverse

    query = [
        ("since", window.since.isoformat().replace("+00:00", "Z")),
        ("until", window.until.isoformat().replace("+00:00", "Z")),
        *params,
    ]
    return f"{reverse('insights-explorer', args=[project.name])}?{urlencode(query)}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def report_status(report: InsightReport | None) -> dict[str, Any]:
    if report is None:
        return {"state": "missing", "since": None, "until": None, "computed_at": None}
    return {
        "id": report.pk,
        "state": report.state,
        "since": _iso(report.since),
        "until": _iso(report.until),
        "requested_at": _iso(report.requested_at),
        "computed_at": _iso(report.computed_at),
        "error": report.error or None,
    }


def slices_report(
    project: Project, window: Range, *, min_support: int, use_stored: bool
) -> dict[str, Any]:
    """Worst slices of the window: dimension values from the rollups, metadata values from the
    newest stored report of the same window (when `use_stored`), tested and ranked together."""
    from annotation.insights.slices import rank_slices

    stored = insight_report_latest_done(project, "slices") if use_stored else None
    if stored and (stored.since, stored.until) != (window.since, window.until):
        stored = None
    if stored is not None and "dimensions" in stored.body:
        # Counted in the same scan as the metadata values: one snapshot, one row read.
        slices = [
            SliceCount("dimension", row["key"], row["value"], row["rated"], row["negative"])
            for row in stored.body["dimensions"]
        ]
        total_rated, total_negative = int(stored.body["rated"]), int(stored.body["negative"])
    else:
        slices, total_rated, total_negative = dimension_slices(project, window)
    metadata_note = None
    if stored is not None:
        slices += [
            SliceCount("metadata", row["key"], row["value"], row["rated"], row["negative"])
            for row in stored.body.get("slices", [])
        ]
    else:
        metadata_note = (
            "Metadata slices are computed in the background for a stored window; "
            "request a report for this window to include them."
        )
    ranking = rank_slices(
        slices, total_rated=total_rated, total_negative=total_negative, min_support=min_support
    )
    rows = []
    for row in ranking.rows:
        item = row.slice
        link_params = (
            [(item.key, item.value)]
            if item.source == "dimension"
            else [("metadata", f"{item.key}={item.value}")]
        )
        rows.append(
            {
                "source": item.source,
                "key": item.key,
                "value": item.value,
                "rated": item.rated,
                "negative": item.negative,
                "rate": row.rate,
                "ci95": list(row.ci95),
                "rest": {
                    "rated": row.rest_rated,
                    "negative": row.rest_negative,
                    "rate": row.rest_rate,
                    "ci95": list(row.rest_ci95),
                },
                "difference": row.difference,
                "difference_ci95": list(row.difference_ci95),
                "p_value": row.p_value,
                "significant": row.significant,
                "worse": row.worse,
                "interactions": explorer_link(project, window, [*link_params, ("negative", "1")]),
            }
        )
    empty = None
    if total_rated == 0:
        empty = "No rated interactions in this window: nothing to rank."
    elif not rows:
        empty = (
            f"Too little support: no slice has {min_support} rated interactions "
            "(and as many outside it) in this window."
        )
    return {
        "since": _iso(window.since),
        "until": _iso(window.until),
        "computed_at": _iso(stored.computed_at) if stored else None,
        "min_support": min_support,
        "q": ranking.q,
        "rated": total_rated,
        "negative": total_negative,
        "tested": ranking.tested,
        "too_little_support": ranking.too_little_support,
        "significant": sum(1 for row in rows if row["worse"]),
        "metadata": report_status(stored),
        "metadata_note": metadata_note,
        "empty": empty,
        "slices": rows,
    }


def templates_report(project: Project, window: Range) -> dict[str, Any]:
    rows = template_report(project, window)
    for row in rows:
        row["interactions"] = explorer_link(
            project,
            window,
            [
                ("prompt_template", row["prompt_template"]),
                ("prompt_template_version", row["prompt_template_version"]),
            ],
        )
    return {
        "since": _iso(window.since),
        "until": _iso(window.until),
        "empty": None if rows else "No interactions in this window.",
        "templates": rows,
    }


def stored_report(project: Project, kind: str) -> dict[str, Any]:
    """The newest stored report of `kind` (done, else the newest pending or failed one), with the
    explorer link of each row."""
    done = insight_report_latest_done(project, kind)
    latest = insight_report_latest(project, kind)
    body: dict[str, Any] = dict(done.body) if done else {}
    pending = latest if latest and latest.state != InsightReport.State.DONE else None
    if done:
        window = Range(since=done.since, until=done.until)
        _link_rows(project, window, kind, body)
    return {
        "report": report_status(done),
        "pending": report_status(pending) if pending else None,
        "empty": _empty(kind, done, body),
        **body,
    }


def _link_rows(project: Project, window: Range, kind: str, body: dict[str, Any]) -> None:
    if kind == "themes":
        for theme in body.get("themes", []):
            theme["interactions"] = explorer_link(project, window, [("kind", "comment")])
    elif kind == "retrieval":
        for doc in body.get("documents", []):
            doc["interactions"] = explorer_link(
                project, window, [("retrieved_document", doc["id"]), ("reviewed_bad", "1")]
            )
        for source in body.get("sources", []):
            source["interactions"] = explorer_link(
                project, window, [("retrieved_source", source["source"]), ("negative", "1")]
            )
    elif kind == "signals":
        for reason in body.get("reasons", []):
            for version in reason.get("versions", []):
                # The explorer's `reason` matches users' labels; reviewers' reasons live on
                # settled reviews, which it reaches through `reviewed_bad`.
                behind = (
                    ("reason", reason["reason"])
                    if reason["source"] == "user"
                    else ("reviewed_bad", "1")
                )
                version["interactions"] = explorer_link(
                    project, window, [("model_version", version["version"]), behind]
                )


def _empty(kind: str, done: InsightReport | None, body: dict[str, Any]) -> str | None:
    if done is None:
        return "Not computed yet for this project: request a report (it runs in the background)."
    if kind == "themes" and not body.get("themes"):
        return (
            f"Too little support: {body.get('comments', 0)} comments in this window; "
            f"themes need at least {body.get('min_comments', 10)}."
        )
    if kind == "retrieval" and not (body.get("documents") or body.get("sources")):
        return (
            "No rated interactions with retrieved context and no relevance judgements "
            "in this window."
        )
    if kind == "signals" and len(body.get("versions", [])) < 2:
        return "Too little support: a trend across model versions needs at least two versions."
    if kind == "signals" and not body.get("reasons"):
        return "No reasons given by users or reviewers in this window."
    return None
