"""Running automated checks and storing their verdicts as flags."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation import jobs
from annotation.checks.config import (
    DEFAULT_CHECKS,
    CheckConfigError,
    JudgeParams,
    PythonParams,
    parse_params,
)
from annotation.checks.evaluators import EvaluatorRun, max_retries, sampled, unusable
from annotation.checks.judge import JudgeError, retry_delay
from annotation.checks.rules import RuleCheck, compile_rule
from annotation.checks.verdicts import InteractionText, Verdict
from annotation.models import RULE_TYPES, Check, Flag, Interaction, Project
from annotation.services.rollups import rollups_mark_interactions

log = logging.getLogger(__name__)

_compiled: dict[tuple[int, datetime], RuleCheck] = {}


@dataclass
class RunResult:
    checked: int = 0
    flagged: int = 0
    evaluator_batches: int = 0


def project_setup_checks(*, project: Project) -> None:
    """Give a new project the rule checks (PII, blocklist, format), so flags need no set-up."""
    Check.objects.bulk_create(
        [
            Check(project=project, name=name, type=check_type, severity=severity)
            for name, check_type, severity in DEFAULT_CHECKS
        ],
        ignore_conflicts=True,
    )


def _rule(check: Check) -> RuleCheck:
    key = (check.pk, check.updated_at)
    if key not in _compiled:
        if len(_compiled) > 1024:
            _compiled.clear()
        _compiled[key] = compile_rule(check.pk, check.type, check.severity, check.parameters)
    return _compiled[key]


def _texts(
    interaction_ids: Sequence[int], *, unchecked_only: bool = False
) -> list[InteractionText]:
    interactions = Interaction.objects.filter(pk__any=list(interaction_ids))
    if unchecked_only:
        interactions = interactions.filter(checked_at__isnull=True)
    rows = interactions.order_by("id").values_list(
        "id", "response", "messages", "prompt_template", "metadata", "retrieved_context"
    )
    return [
        InteractionText(
            id=pk,
            response=response,
            messages=messages,
            prompt_template=template,
            metadata=metadata,
            retrieved_context=context,
        )
        for pk, response, messages, template, metadata, context in rows
    ]


def _store(
    project_id: int,
    checks: Sequence[Check],
    verdicts: Sequence[tuple[int, Verdict]],
    ids: Sequence[int],
    *,
    replace: bool = True,
) -> None:
    """Store `verdicts`; with `replace`, first drop the flags of `checks` on `ids` (a re-run)."""
    now = timezone.now()
    if replace:
        Flag.objects.filter(interaction__id__any=ids, check_config__in=checks).delete()
    Flag.objects.bulk_create(
        [
            Flag(
                project_id=project_id,
                interaction_id=interaction_id,
                check_config_id=verdict.check_id,
                flagged=verdict.flagged,
                severity=verdict.severity,
                score=verdict.score,
                spans=verdict.spans,
                label=verdict.label,
                rationale=verdict.rationale,
                created_at=now,
            )
            for interaction_id, verdict in verdicts
        ]
    )
    # The rollups count checked and flagged interactions per hour.
    rollups_mark_interactions(interactions=Interaction.objects.filter(pk__in=ids))


def checks_run(
    *,
    project_id: int,
    interaction_ids: Sequence[int],
    check_ids: Sequence[int] | None = None,
    enqueue_evaluators: bool = True,
) -> RunResult:
    """Run the project's enabled rule checks on the interactions, store flags, mark them checked.

    Evaluator checks (judge, Python) are sampled here and handed to their own task per batch, so
    a slow endpoint never holds up the rules.
    """
    checks = list(Check.objects.filter(project_id=project_id, enabled=True))
    if check_ids is not None:
        checks = [check for check in checks if check.pk in set(check_ids)]
    rules = [check for check in checks if check.type in RULE_TYPES]
    evaluators = [check for check in checks if check.type not in RULE_TYPES]
    # A first run (after ingestion, or a redelivered task) skips what is already checked: rule
    # flags and checked_at commit together, so those have their flags and need no delete.
    first_run = check_ids is None
    texts = _texts(interaction_ids, unchecked_only=first_run)
    compiled = []
    for check in rules:
        try:
            compiled.append(_rule(check))
        except CheckConfigError as exc:
            # Saved under older, looser rules (a lookaround RE2 cannot run, a remote $ref): skip
            # this one check until a lead fixes it, rather than fail the pass for every check.
            log.warning("check %s (id %s) skipped: %s", check.name, check.pk, exc)
    verdicts = [
        (item.id, verdict)
        for item in texts
        for rule in compiled
        if (verdict := rule.evaluate(item)) is not None
    ]
    ids = [item.id for item in texts]
    with transaction.atomic():
        _store(project_id, rules, verdicts, ids, replace=not first_run)
        if first_run:
            Interaction.objects.filter(pk__any=ids).update(checked_at=timezone.now())
    result = RunResult(checked=len(ids), flagged=len(verdicts))
    if enqueue_evaluators:
        for check in evaluators:
            chosen = [pk for pk in ids if sampled(check.pk, pk, check.sample_rate)]
            for start in range(0, len(chosen), 100):
                jobs.enqueue(
                    "annotation.tasks.checks.run_evaluator", check.pk, chosen[start : start + 100]
                )
                result.evaluator_batches += 1
    return result


@dataclass
class EvaluatorBatch:
    """One attempt at a batch: verdicts stored, and what is left for a later attempt."""

    stored: int = 0
    deferred: list[int] = field(default_factory=list)
    retry_in: float = 0.0


def evaluator_run(
    *, check_id: int, interaction_ids: Sequence[int], attempt: int | None = None
) -> EvaluatorBatch:
    """Evaluate interactions with one judge or Python check; store every verdict; count cost.

    Nothing here sleeps. With `attempt` (the task's retry count) a judge that is unavailable
    (429, 5xx, timeout) stops the batch: the rest comes back as `deferred`, with the seconds to
    wait, for the task to retry with a countdown, until the check's `max_retries` is used up and
    they are recorded as `evaluator_unavailable`. Without it every failure is recorded at once.
    """
    check = Check.objects.filter(pk=check_id, enabled=True).first()
    if check is None:
        return EvaluatorBatch()
    texts = _texts(interaction_ids)
    try:
        params = parse_params(check.type, check.parameters)
    except CheckConfigError as exc:
        # Settings changed under a saved check (an evaluator left EVALUATORS): say so per item.
        reason = f"the check's configuration is no longer valid: {exc}"
        _store(
            check.project_id,
            [check],
            [(t.id, unusable(check.pk, reason)) for t in texts],
            [t.id for t in texts],
        )
        return EvaluatorBatch(stored=len(texts))
    assert isinstance(params, (JudgeParams, PythonParams))
    defer = attempt is not None and attempt < max_retries(params)
    run = EvaluatorRun(
        check.pk,
        check.severity,
        params,
        single_attempt=attempt is not None,
        defer_transient=defer,
    )
    verdicts: list[tuple[int, Verdict]] = []
    batch = EvaluatorBatch()
    try:
        for index, item in enumerate(texts):
            try:
                verdicts.append((item.id, run.evaluate(item)))
            except JudgeError as error:
                batch.deferred = [t.id for t in texts[index:]]
                batch.retry_in = retry_delay(
                    (attempt or 0) + 1,
                    error.retry_after,
                    backoff_seconds=settings.JUDGE_BACKOFF_SECONDS,
                )
                break
    finally:
        run.close()
    with transaction.atomic():
        _store(check.project_id, [check], verdicts, [pk for pk, _ in verdicts])
        if run.client is not None:
            usage = run.client.counter.snapshot()
            Check.objects.filter(pk=check.pk).update(
                evaluator_calls=F("evaluator_calls") + usage.calls,
                evaluator_prompt_tokens=F("evaluator_prompt_tokens") + usage.prompt_tokens,
                evaluator_completion_tokens=F("evaluator_completion_tokens")
                + usage.completion_tokens,
                evaluator_cost=F("evaluator_cost") + usage.cost,
            )
    batch.stored = len(verdicts)
    return batch


def checks_enqueue_for_request_ids(*, project_id: int, request_ids: Sequence[str]) -> None:
    """After ingestion commits, queue the new interactions for checking (never fails ingestion)."""

    def enqueue() -> None:
        try:
            jobs.enqueue("annotation.tasks.checks.run_checks", project_id, list(request_ids))
        except Exception:
            # The broker is down: the rows stay unchecked and the beat sweep picks them up.
            log.warning(
                "could not enqueue checks for %d interactions", len(request_ids), exc_info=True
            )

    transaction.on_commit(enqueue)


def checks_sweep(
    *, older_than: timedelta | None = None, batch: int = 1000, limit: int | None = None
) -> int:
    """Queue the oldest interactions still unchecked after a grace period; returns how many.

    At most `limit` per call (settings.CHECKS_SWEEP_LIMIT, 5,000), oldest first, so a backlog
    (the broker was down an hour) drains over several beat ticks instead of flooding the queue
    from one; tasks carry at most `batch` interactions of one project each.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.CHECKS_SWEEP_AFTER_SECONDS)
    if limit is None:
        limit = settings.CHECKS_SWEEP_LIMIT
    cutoff = timezone.now() - older_than
    # The partial index on received_at where checked_at is null serves this order and bound.
    oldest = list(
        Interaction.objects.filter(checked_at__isnull=True, received_at__lte=cutoff)
        .order_by("received_at", "id")
        .values_list("project_id", "id")[:limit]
    )
    by_project: dict[int, list[int]] = {}
    for project_id, pk in oldest:
        by_project.setdefault(project_id, []).append(pk)
    for project_id, ids in sorted(by_project.items()):
        for start in range(0, len(ids), batch):
            jobs.enqueue(
                "annotation.tasks.checks.run_checks_by_id", project_id, ids[start : start + batch]
            )
    return len(oldest)


def checks_rerun(*, check: Check, since: datetime | None = None, batch: int = 1000) -> int:
    """Re-evaluate one check over the project's interactions since `since` (all when None)."""
    interactions = Interaction.objects.filter(project_id=check.project_id)
    if since is not None:
        interactions = interactions.filter(timestamp__gte=since)
    ids = list(interactions.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), batch):
        jobs.enqueue("annotation.tasks.checks.rerun_check", check.pk, ids[start : start + batch])
    return len(ids)


def interaction_ids_for(project_id: int, request_ids: Sequence[str]) -> list[int]:
    return list(
        Interaction.objects.filter(project_id=project_id, request_id__any=request_ids).values_list(
            "id", flat=True
        )
    )


def check_rerun_batch(*, check_id: int, interaction_ids: Sequence[int]) -> int:
    """Re-evaluate one check (rule or evaluator, sampled as usual) on a batch of interactions."""
    check = Check.objects.filter(pk=check_id).first()
    if check is None:
        return 0
    if check.type in RULE_TYPES:
        return checks_run(
            project_id=check.project_id,
            interaction_ids=interaction_ids,
            check_ids=[check.pk],
            enqueue_evaluators=False,
        ).checked
    # Evaluators run on their own queue, as after ingestion: a slow judge never holds up rules.
    chosen = [pk for pk in interaction_ids if sampled(check.pk, pk, check.sample_rate)]
    for start in range(0, len(chosen), 100):
        jobs.enqueue("annotation.tasks.checks.run_evaluator", check.pk, chosen[start : start + 100])
    return len(chosen)
