from __future__ import annotations

from collections.abc import Sequence

from celery import Task, shared_task

from annotation.services.checks import (
    check_rerun_batch,
    checks_run,
    checks_sweep,
    evaluator_run,
    interaction_ids_for,
)


@shared_task(acks_late=True)
def run_checks(project_id: int, request_ids: Sequence[str]) -> int:
    """Run the rule checks on newly ingested interactions; returns how many were flagged."""
    ids = interaction_ids_for(project_id, request_ids)
    return checks_run(project_id=project_id, interaction_ids=ids).flagged


@shared_task(acks_late=True)
def run_checks_by_id(project_id: int, interaction_ids: Sequence[int]) -> int:
    """Run the rule checks on interactions the sweep found unchecked."""
    return checks_run(project_id=project_id, interaction_ids=interaction_ids).flagged


# On the `evaluators` queue (settings.CELERY_TASK_ROUTES): slow judges never delay rule checks.
# The service bounds the retries by the check's max_retries.
@shared_task(bind=True, acks_late=True, max_retries=None)
def run_evaluator(self: Task, check_id: int, interaction_ids: Sequence[int]) -> int:
    """Evaluate a batch with one LLM judge or Python evaluator; stores every verdict.

    When the judge is unavailable, what is left is retried with a countdown instead of the
    worker sleeping between attempts.
    """
    attempt, stored = self.request.retries, 0
    while True:
        batch = evaluator_run(check_id=check_id, interaction_ids=interaction_ids, attempt=attempt)
        stored += batch.stored
        if not batch.deferred:
            return stored
        if not self.request.is_eager:
            raise self.retry(args=(check_id, batch.deferred), countdown=batch.retry_in)
        # Eager (the embedded demo): no worker comes back later, so the next attempt is now.
        interaction_ids, attempt = batch.deferred, attempt + 1


@shared_task(acks_late=True)
def rerun_check(check_id: int, interaction_ids: Sequence[int]) -> int:
    """Re-evaluate one check after its configuration changed."""
    return check_rerun_batch(check_id=check_id, interaction_ids=interaction_ids)


@shared_task
def sweep_unchecked() -> int:
    """Queue interactions whose checks never ran (broker down at ingestion, lost worker)."""
    return checks_sweep()
