"""Celery tasks, one module per stage; each is a thin, idempotent wrapper over one service."""

from annotation.tasks.checks import (
    rerun_check,
    run_checks,
    run_checks_by_id,
    run_evaluator,
    sweep_unchecked,
)
from annotation.tasks.ingestion import link_waiting_feedback

__all__ = [
    "link_waiting_feedback",
    "rerun_check",
    "run_checks",
    "run_checks_by_id",
    "run_evaluator",
    "sweep_unchecked",
]
