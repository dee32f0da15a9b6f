from __future__ import annotations

from typing import Any

from annotation.models import Check, Severity


def check_report(check: Check) -> dict[str, Any]:
    """Precision, recall and F1 of `check` against reviewers' verdicts, or why there are none."""
    return {
        "check": check.name,
        "severity": Severity(check.severity).label,
        "status": "no_review_data",
        "message": "No reviewed interactions yet: the report appears once reviewers label items.",
        "counts": {"reviewed": 0},
    }
