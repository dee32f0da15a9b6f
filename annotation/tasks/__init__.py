"""Celery tasks, one module per stage; each is a thin, idempotent wrapper over one service."""

from annotation.tasks.agreement import compute_agreement
from annotation.tasks.alerts import evaluate_alerts
from annotation.tasks.checks import (
    rerun_check,
    run_checks,
    run_checks_by_id,
    run_evaluator,
    sweep_unchecked,
)
from annotation.tasks.deliveries import resume_deliveries, send_delivery
from annotation.tasks.exports import build_export
from annotation.tasks.ingestion import link_waiting_feedback
from annotation.tasks.insight_reports import (
    compute_insight_report,
    refresh_insight_reports,
)
from annotation.tasks.insights import refresh_rollups
from annotation.tasks.queues import expire_leases, fill_due_queues, fill_queue
from annotation.tasks.triggers import build_trigger_export, evaluate_triggers

__all__ = [
    "link_waiting_feedback",
    "rerun_check",
    "run_checks",
    "run_checks_by_id",
    "run_evaluator",
    "sweep_unchecked",
]

# Review queues.
__all__ += ["expire_leases", "fill_due_queues", "fill_queue"]

# Agreement.

__all__ += ["compute_agreement"]

# Exports.

__all__ += ["build_export"]

# Stored insight reports.

__all__ += ["compute_insight_report", "refresh_insight_reports"]

# Webhook deliveries and pipeline triggers.

__all__ += ["build_trigger_export", "evaluate_triggers", "resume_deliveries", "send_delivery"]

# Alert rules.

__all__ += ["evaluate_alerts"]

# Rollups: beat's refresh every ROLLUPS_EVERY_SECONDS (without this import a worker drops it).

__all__ += ["refresh_rollups"]
