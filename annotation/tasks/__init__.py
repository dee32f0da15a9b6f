"""Celery tasks, one module per stage; each is a thin, idempotent wrapper over one service."""

from annotation.tasks.checks import (
    rerun_check,
    run_checks,
    run_checks_by_id,
    run_evaluator,
    sweep_unchecked,
)
from annotation.tasks.ingestion import link_waiting_feedback
from annotation.tasks.queues import expire_leases, fill_due_queues, fill_queue

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
from annotation.tasks.agreement import compute_agreement  # noqa: E402

__all__ += ["compute_agreement"]

# Exports.
from annotation.tasks.exports import build_export  # noqa: E402

__all__ += ["build_export"]

# Stored insight reports.
from annotation.tasks.insight_reports import (  # noqa: E402
    compute_insight_report,
    refresh_insight_reports,
)

__all__ += ["compute_insight_report", "refresh_insight_reports"]

# Webhook deliveries and pipeline triggers.
from annotation.tasks.deliveries import resume_deliveries, send_delivery  # noqa: E402
from annotation.tasks.triggers import build_trigger_export, evaluate_triggers  # noqa: E402

__all__ += ["build_trigger_export", "evaluate_triggers", "resume_deliveries", "send_delivery"]

# Alert rules.
from annotation.tasks.alerts import evaluate_alerts  # noqa: E402

__all__ += ["evaluate_alerts"]

# Rollups: beat's refresh every ROLLUPS_EVERY_SECONDS (without this import a worker drops it).
from annotation.tasks.insights import refresh_rollups  # noqa: E402

__all__ += ["refresh_rollups"]
