"""Celery tasks, one module per stage; each is a thin, idempotent wrapper over one service."""

from annotation.tasks.ingestion import link_waiting_feedback

__all__ = ["link_waiting_feedback"]
