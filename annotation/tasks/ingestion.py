"""Celery tasks: thin, idempotent wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from annotation.services.ingestion import feedback_link_waiting


@shared_task(acks_late=True)
def link_waiting_feedback() -> int:
    """Link feedback whose interaction arrived in a concurrent request; returns rows linked."""
    return feedback_link_waiting()
