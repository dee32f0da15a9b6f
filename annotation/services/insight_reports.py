"""Stored insight reports: requested by a page, the API or beat, computed by Celery.

The worst metadata slices, the retrieval report and the retraining signal read interactions,
feedback and settled reviews, which no page view may scan at 5M interactions; a report is
computed once per request (or daily by beat) for a project and window and stored whole.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation import jobs
from annotation.insights.query import Range
from annotation.insights.reports import rate, reason_signal
from annotation.insights.slices import metadata_scalar, top_metadata_values
from annotation.models import InsightReport, InsightReportKind, Interaction, Project
from annotation.models.insights import SLICE_FIELDS
from annotation.selectors.insight_reports import (
    MAX_CONTEXT_SCANNED,
    MAX_RATED_SCANNED,
    MAX_REVIEWS_SCANNED,
    interaction_fields,
    interaction_negativity,
    rated_by_version,
    settled_reviews,
    user_reasons,
    versions_by_first_seen,
)

log = logging.getLogger(__name__)

DAILY_WINDOW = timedelta(days=7)
# (key, value) pairs counted before the most frequent are kept: bounds memory on wild metadata.
MAX_METADATA_PAIRS = 200_000
IRRELEVANT = frozenset({"irrelevant", "not_relevant", "not relevant"})
MAX_DOCUMENTS_SHOWN = 50


def insight_report_request(
    *, project: Project, kind: str, since: datetime, until: datetime
) -> InsightReport:
    """Create a pending report and queue its computation once this transaction commits."""
    report = InsightReport.objects.create(
        project=project, kind=kind, since=since, until=until, requested_at=timezone.now()
    )
    transaction.on_commit(
        lambda: jobs.enqueue("annotation.tasks.insight_reports.compute_insight_report", report.pk)
    )
    return report


def insight_report_compute(*, report_id: int) -> InsightReport:
    """Compute and store one report; a failure is stored on it with its reason, never raised."""
    report = InsightReport.objects.select_related("project").get(pk=report_id)
    if report.state == InsightReport.State.DONE:
        return report
    window = Range(since=report.since, until=report.until)
    try:
        body = BUILDERS[report.kind](report.project, window)
    except Exception as exc:  # stored for the page; the worker log has the traceback
        log.exception("insight report %s failed", report.pk)
        report.state, report.error = InsightReport.State.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        report.state, report.body, report.error = InsightReport.State.DONE, body, ""
    report.computed_at = timezone.now()
    report.save(update_fields=["state", "body", "error", "computed_at"])
    return report


def insight_reports_refresh(*, now: datetime | None = None) -> int:
    """Request every stored report kind for the last 7 days of each active project (beat)."""
    now = now or timezone.now()
    since = now - DAILY_WINDOW
    projects = Project.objects.filter(
        pk__in=Interaction.objects.filter(timestamp__gte=since).values("project_id")
    )
    count = 0
    for project in projects:
        for kind in InsightReportKind.values:
            insight_report_request(project=project, kind=kind, since=since, until=now)
            count += 1
    return count


def metadata_slices_body(project: Project, window: Range) -> dict[str, Any]:
    """Rated and negative interactions per top-level scalar metadata key=value and per dimension
    value, with the totals, from one scan of the window's rated interactions (one snapshot)."""
    negativity = interaction_negativity(project, window)
    counts: dict[tuple[str, str], list[int]] = {}
    dimensions: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    rated = negative = 0
    capped = False
    for pk, metadata, *values in interaction_fields(list(negativity), "metadata", *SLICE_FIELDS):
        bad = int(negativity[pk])
        rated += 1
        negative += bad
        for dimension, value in zip(SLICE_FIELDS, values, strict=True):
            if value:
                dimensions[(dimension, value)][0] += 1
                dimensions[(dimension, value)][1] += bad
        if not isinstance(metadata, dict):
            continue
        for key, raw in metadata.items():
            value = metadata_scalar(raw)
            if value is None:
                continue
            entry = counts.get((key, value))
            if entry is None:
                if len(counts) >= MAX_METADATA_PAIRS:
                    capped = True
                    continue
                entry = counts[(key, value)] = [0, 0]
            entry[0] += 1
            entry[1] += bad
    chosen = top_metadata_values({k: (v[0], v[0], v[1]) for k, v in counts.items()})
    return {
        "rated": rated,
        "negative": negative,
        "truncated": len(negativity) >= MAX_RATED_SCANNED or capped,
        "dimensions": [
            {"key": key, "value": value, "rated": r, "negative": n}
            for (key, value), (r, n) in sorted(dimensions.items())
        ],
        "slices": [
            {"key": key, "value": value, "rated": r, "negative": n} for key, value, r, n in chosen
        ],
    }


def retrieval_body(project: Project, window: Range) -> dict[str, Any]:
    """Documents most often judged irrelevant, and the negative rate by retrieved source."""
    negativity = interaction_negativity(project, window)
    newest = list(negativity)[:MAX_CONTEXT_SCANNED]
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rag_rated = rag_negative = 0
    for pk, context in interaction_fields(newest, "retrieved_context"):
        sources = {
            str(doc.get("source") or "(no source)")
            for doc in context or ()
            if isinstance(doc, dict)
        }
        if not sources:
            continue
        bad = negativity[pk]
        rag_rated += 1
        rag_negative += bad
        for source in sources:
            by_source[source][0] += 1
            by_source[source][1] += bad
    judged: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    judged_ids: dict[int, list[str]] = defaultdict(list)
    reviews = 0
    for review in settled_reviews(project, window):
        field = review.roles.relevance
        if field is None:
            continue
        ratings = review.values.get(field.name)
        if not isinstance(ratings, dict):
            continue
        reviews += 1
        for doc_id, option in ratings.items():
            judged[str(doc_id)][0] += 1
            if str(option).strip().lower() in IRRELEVANT:
                judged[str(doc_id)][1] += 1
                judged_ids[review.interaction_id].append(str(doc_id))
    sources_of: dict[str, str] = {}
    for _, context in interaction_fields(list(judged_ids), "retrieved_context"):
        for doc in context or ():
            if isinstance(doc, dict) and "id" in doc:
                sources_of.setdefault(str(doc["id"]), str(doc.get("source") or ""))
    documents = sorted(judged.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))
    return {
        "reviewed_items": reviews,
        "rag_rated": rag_rated,
        "rag_negative": rag_negative,
        "truncated": len(negativity) > MAX_CONTEXT_SCANNED or reviews >= MAX_REVIEWS_SCANNED,
        "documents": [
            {
                "id": doc_id,
                "source": sources_of.get(doc_id, ""),
                "irrelevant": rate(irrelevant, total),
            }
            for doc_id, (total, irrelevant) in documents[:MAX_DOCUMENTS_SHOWN]
            if irrelevant
        ],
        "sources": [
            {"source": source, "negative_rate": rate(bad, total)}
            for source, (total, bad) in sorted(
                by_source.items(), key=lambda item: (-item[1][1] / item[1][0], item[0])
            )
        ],
    }


def signals_body(project: Project, window: Range) -> dict[str, Any]:
    """Per reason (users' labels, reviewers' reasons), its rate per model version, oldest first."""
    order = versions_by_first_seen(project)
    user_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for version, labels in user_reasons(project, window):
        for label in labels:
            user_counts[label][version] += 1
    user_totals = rated_by_version(project, window)
    review_counts: dict[str, Counter[str]] = defaultdict(Counter)
    review_totals: Counter[str] = Counter()
    for review in settled_reviews(project, window):
        if review.roles.reasons is None:
            continue
        review_totals[review.model_version] += 1
        value = review.values.get(review.roles.reasons.name)
        for reason in set(value) if isinstance(value, list) else ():
            review_counts[str(reason)][review.model_version] += 1
    reasons = []
    for source, counts, totals in (
        ("user", user_counts, user_totals),
        ("reviewer", review_counts, dict(review_totals)),
    ):
        versions = [v for v in order if totals.get(v)]
        for reason, per_version in sorted(counts.items()):
            signal = reason_signal(
                versions,
                [per_version.get(v, 0) for v in versions],
                [int(totals.get(v, 0)) for v in versions],
            )
            reasons.append({"reason": reason, "source": source, **signal})
    reasons.sort(key=lambda r: (not r["rising"], (r["trend"] or {}).get("p_value", 1.0)))
    return {"versions": order, "reasons": reasons}


def _themes_body(project: Project, window: Range) -> dict[str, Any]:
    from annotation.services.themes import themes_body

    return themes_body(project, window)


BUILDERS: dict[str, Callable[[Project, Range], dict[str, Any]]] = {
    InsightReportKind.SLICES: metadata_slices_body,
    InsightReportKind.THEMES: _themes_body,
    InsightReportKind.RETRIEVAL: retrieval_body,
    InsightReportKind.SIGNALS: signals_body,
}
