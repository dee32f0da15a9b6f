"""How good a check is, measured against what reviewers settled: the guard report.

One queue at a time (queues sample differently and may label differently): the queue's
items in state ``done``, settled by ``annotation.review.settle`` (the lead's adjudication,
else the majority; a tie is unsettled and not counted), against whether the check fired on
each item's interaction. What the check should have caught comes from ``Check.catches``
(see ``annotation.review.guard``). Every query is bounded by one queue's items. Items added
by hand (``manual``, see ``annotation.services.manual_items``) are no sample of anything and are
left out of the catch statistics (``counts.manual`` says how many done ones were).

A report is computed once per state of its queue and kept in the Django cache: its key is the
check and queue, and it is served again while the queue's counters (items by state, answers by
annotator), the check's mapping and the queue's definition are unchanged, so asking again reads a
few counter rows instead of every done item and answer. A check's flags can change without the
queue changing (a re-run of the check): the cached copy is also recomputed after
``REPORT_TTL`` seconds, and the report says when it was computed (``computed_at``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django.core.cache import cache
from django.db.models import BooleanField, ExpressionWrapper
from django.utils import timezone

from annotation.models import Annotation, Check, Flag, Severity
from annotation.models.review import MANUAL_ITEMS, Adjudication, ItemState, Queue, QueueItem
from annotation.review.guard import Catches, GuardTally, parse_catches, should_catch, truth_problem
from annotation.review.settle import NEGATIVE_VERDICTS, schema_roles, settle
from annotation.selectors.queue_counters import QueueCounts, queue_counts_for

EVALUATOR_FAILURES = ("evaluator_error", "evaluator_unavailable", "evaluator_auth")
REPORT_TTL = 600

__all__ = ["NEGATIVE_VERDICTS", "check_catches", "check_report", "queue_guard_report"]


def check_catches(check: Check) -> Catches:
    """The check's stored mapping; an unreadable one counts as none (the verdict)."""
    try:
        return parse_catches(check.catches)
    except ValueError:
        return Catches()


def _head(check: Check, catches: Catches) -> dict[str, Any]:
    head: dict[str, Any] = {
        "check": check.name,
        "severity": Severity(check.severity).label,
        "truth": catches.describe(),
        "catches": catches.to_json(),
    }
    if catches.empty:
        head["negative_verdicts"] = sorted(NEGATIVE_VERDICTS)
    return head


def _signature(check: Check, queue: Queue, counts: QueueCounts) -> str:
    parts = [
        check.pk,
        check.name,
        check.severity,
        check.created_at.isoformat() if check.created_at else None,
        check.catches,
        queue.pk,
        queue.updated_at.isoformat() if queue.updated_at else None,
        sorted(counts.by_state.items()),
        sorted(counts.done_by.items()),
    ]
    return json.dumps(parts, sort_keys=True, default=str)


def _key(check: Check, queue: Queue) -> str:
    return f"guard-report:1:{check.pk}:{queue.pk}"


def queue_guard_report(check: Check, queue: Queue) -> dict[str, Any]:
    """The check against reviewers on one queue, from the cache while the queue is unchanged."""
    return _guard_reports(check, [queue])[0]


def _guard_reports(check: Check, queues: list[Queue]) -> list[dict[str, Any]]:
    """One report per queue: two queries (counters, cache) when none changed."""
    counts = queue_counts_for(q.pk for q in queues)
    cached = cache.get_many([_key(check, q) for q in queues])
    reports = []
    for queue in queues:
        signature = _signature(check, queue, counts[queue.pk])
        hit = cached.get(_key(check, queue))
        if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == signature:
            reports.append(hit[1])
            continue
        report = {
            **_queue_guard_report(check, queue, counts[queue.pk]),
            "computed_at": timezone.now().isoformat(),
        }
        cache.set(_key(check, queue), (signature, report), REPORT_TTL)
        reports.append(report)
    return reports


def _queue_guard_report(check: Check, queue: Queue, counts: QueueCounts) -> dict[str, Any]:
    """The check against reviewers on one queue's settled items, or why there is no report."""
    catches = check_catches(check)
    report: dict[str, Any] = {
        **_head(check, catches),
        "queue": {"id": queue.pk, "name": queue.name},
    }
    roles = schema_roles(queue.schema or {})
    done = QueueItem.objects.filter(queue=queue, state=ItemState.DONE)
    not_done = counts.total - counts.by_state.get(ItemState.DONE, 0)
    problem = truth_problem(catches, roles)
    if problem is not None:
        return {**report, "status": "no_truth", "message": problem, "counts": {"reviewed": 0}}

    items, manual = [], 0
    for pk, interaction_id, probability, hand_picked in done.annotate(
        hand_picked=ExpressionWrapper(MANUAL_ITEMS, output_field=BooleanField())
    ).values_list("pk", "interaction_id", "inclusion_probability", "hand_picked"):
        if hand_picked:
            manual += 1
        else:
            items.append((pk, interaction_id, probability))
    answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item_id, values in (
        Annotation.objects.filter(item__queue=queue, item__state=ItemState.DONE)
        .order_by("item_id", "pk")
        .values_list("item_id", "values")
        .iterator(chunk_size=5000)
    ):
        if isinstance(values, dict):
            answers[item_id].append(values)
    adjudicated = {
        item_id: values
        for item_id, values in Adjudication.objects.filter(
            item__queue=queue, item__state=ItemState.DONE
        ).values_list("item_id", "values")
        if isinstance(values, dict)
    }
    fired = set(
        Flag.objects.filter(
            check_config=check,
            flagged=True,
            interaction_id__in=done.values("interaction_id"),
        )
        .exclude(label__in=EVALUATOR_FAILURES)
        .values_list("interaction_id", flat=True)
    )
    tally = GuardTally()
    unsettled = 0
    for item_id, interaction_id, probability in items:
        annotations = answers.get(item_id, [])
        adjudication = adjudicated.get(item_id)
        if not annotations and adjudication is None:
            continue
        truth = should_catch(catches, roles, settle(roles, annotations, adjudication))
        if truth is None:
            unsettled += 1
            continue
        tally.add(fired=interaction_id in fired, truth=truth, probability=probability)
    figures = tally.figures()
    figures["counts"].update(unsettled=unsettled, not_done=not_done, manual=manual)
    if tally.reviewed == 0:
        return {
            **report,
            "status": "no_review_data",
            "message": (
                "No settled item in this queue yet: the report counts items that are done "
                "and whose answers do not tie (or that a lead adjudicated)."
            ),
            "counts": figures["counts"],
        }
    return {**report, "status": "ok", **figures}


def check_report(check: Check, queue: Queue | None = None) -> dict[str, Any]:
    """The guard report for one queue, or one per queue of the check's project.

    Queues are never pooled: they sample with different probabilities and may ask
    reviewers different questions.
    """
    if queue is not None:
        return queue_guard_report(check, queue)
    catches = check_catches(check)
    queues = _guard_reports(
        check, list(Queue.objects.filter(project_id=check.project_id).order_by("pk"))
    )
    ok = any(q["status"] == "ok" for q in queues)
    answer: dict[str, Any] = {
        **_head(check, catches),
        "status": "ok" if ok else "no_review_data",
        "pooled": False,
        "queues": queues,
    }
    if not ok:
        answer["message"] = (
            "No queue has settled items yet: the report appears once reviewers finish items."
            if queues
            else "No review queue yet: create a queue and review some items."
        )
    return answer
