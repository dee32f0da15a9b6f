"""How good a check is, measured against what reviewers decided."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from annotation.models import Annotation, Check, Flag, Severity
from annotation.models.review import Adjudication, QueueItem

# A reviewer's verdict that says the response is bad, i.e. that a check should have fired.
NEGATIVE_VERDICTS = frozenset(
    {"bad", "fail", "failed", "unsafe", "harmful", "reject", "rejected", "incorrect", "wrong", "no"}
)
VERDICT_FIELD = "verdict"
EVALUATOR_FAILURES = ("evaluator_error", "evaluator_unavailable", "evaluator_auth")


def _reviewed_verdicts(project_id: int) -> dict[int, tuple[bool, float]]:
    """interaction id -> (reviewers found it bad, inclusion probability), settled items only.

    The final verdict is the lead's adjudication when there is one, else the annotators' majority;
    a tie leaves the interaction out. An interaction reviewed in several queues counts once.
    """
    votes: dict[int, Counter[bool]] = defaultdict(Counter)
    probability: dict[int, float] = {}
    item_of: dict[int, int] = {}
    rows = Annotation.objects.filter(item__queue__project_id=project_id).values_list(
        "item_id", "item__interaction_id", "item__inclusion_probability", "values"
    )
    for item_id, interaction_id, inclusion, values in rows.iterator(chunk_size=5000):
        verdict = values.get(VERDICT_FIELD) if isinstance(values, dict) else None
        if not isinstance(verdict, str):
            continue
        if item_of.setdefault(interaction_id, item_id) != item_id:
            continue
        votes[interaction_id][verdict.lower() in NEGATIVE_VERDICTS] += 1
        probability[interaction_id] = inclusion
    final = {
        interaction_id: values.get(VERDICT_FIELD)
        for interaction_id, values in Adjudication.objects.filter(
            item__queue__project_id=project_id
        ).values_list("item__interaction_id", "values")
        if isinstance(values, dict)
    }
    verdicts: dict[int, tuple[bool, float]] = {}
    for interaction_id, counted in votes.items():
        if isinstance(final.get(interaction_id), str):
            bad = str(final[interaction_id]).lower() in NEGATIVE_VERDICTS
        elif counted[True] != counted[False]:
            bad = counted[True] > counted[False]
        else:
            continue
        verdicts[interaction_id] = (bad, probability[interaction_id])
    return verdicts


def _scores(tp: float, fp: float, fn: float) -> dict[str, float | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {
        "precision": None if precision is None else round(precision, 6),
        "recall": None if recall is None else round(recall, 6),
        "f1": None if f1 is None else round(f1, 6),
    }


def check_report(check: Check) -> dict[str, Any]:
    """Precision, recall and F1 of `check` against reviewers' verdicts, or why there are none.

    Reviewed items were sampled with known inclusion probabilities, so besides the plain counts
    the report weights each item by 1 / probability (Horvitz-Thompson): estimates for all
    traffic rather than for the over-sampled low-rated and flagged items.
    """
    base: dict[str, Any] = {"check": check.name, "severity": Severity(check.severity).label}
    verdicts = _reviewed_verdicts(check.project_id)
    if not verdicts:
        has_items = QueueItem.objects.filter(queue__project_id=check.project_id).exists()
        return {
            **base,
            "status": "no_review_data",
            "message": (
                "No reviewed interactions yet: the report appears once reviewers settle items "
                f"with a '{VERDICT_FIELD}' field."
                if has_items
                else "No review queue has items yet: create a queue and review some items."
            ),
            "counts": {"reviewed": 0},
        }
    flagged = set(
        Flag.objects.filter(check_config=check, flagged=True, interaction__id__any=list(verdicts))
        .exclude(label__in=EVALUATOR_FAILURES)
        .values_list("interaction_id", flat=True)
    )
    counts = Counter[str]()
    weighted: dict[str, float] = defaultdict(float)
    for interaction_id, (bad, probability) in verdicts.items():
        fired = interaction_id in flagged
        cell = {(True, True): "tp", (True, False): "fp", (False, True): "fn", (False, False): "tn"}[
            (fired, bad)
        ]
        counts[cell] += 1
        weighted[cell] += 1 / probability if probability > 0 else math.inf
    return {
        **base,
        "status": "ok",
        "negative_verdicts": sorted(NEGATIVE_VERDICTS),
        "counts": {
            "reviewed": len(verdicts),
            "true_positives": counts["tp"],
            "false_positives": counts["fp"],
            "false_negatives": counts["fn"],
            "true_negatives": counts["tn"],
        },
        **_scores(counts["tp"], counts["fp"], counts["fn"]),
        "population_estimate": _scores(weighted["tp"], weighted["fp"], weighted["fn"]),
    }
