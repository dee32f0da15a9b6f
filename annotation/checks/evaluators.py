"""Model-based checks: an LLM judge over an OpenAI-compatible endpoint, or an allow-listed
Python evaluator (settings.EVALUATORS)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings

from annotation.checks.config import JudgeParams, PythonParams
from annotation.checks.judge import (
    EVALUATOR_ERROR,
    EVALUATOR_UNAVAILABLE,
    JudgeClient,
    JudgeConfig,
    JudgeError,
    JudgeVerdict,
    PythonEvaluator,
    load_python_evaluator,
    run_python_evaluator,
)
from annotation.checks.verdicts import InteractionText, Verdict
from annotation.models import Severity


def judge_config(params: JudgeParams, *, single_attempt: bool = False) -> JudgeConfig:
    """The judge's settings; `single_attempt` for callers that retry later instead of sleeping."""
    if not settings.JUDGE_BASE_URL:
        raise JudgeError(
            "evaluator_unavailable",
            "No judge endpoint is configured; set JUDGE_BASE_URL (and JUDGE_MODEL, JUDGE_API_KEY).",
        )
    return JudgeConfig(
        base_url=settings.JUDGE_BASE_URL,
        model=params.model or settings.JUDGE_MODEL,
        api_key=settings.JUDGE_API_KEY,
        timeout_seconds=params.timeout_seconds or settings.JUDGE_TIMEOUT_SECONDS,
        max_retries=0 if single_attempt else max_retries(params),
        backoff_seconds=settings.JUDGE_BACKOFF_SECONDS,
        input_cost_per_1k=settings.JUDGE_INPUT_COST_PER_1K,
        output_cost_per_1k=settings.JUDGE_OUTPUT_COST_PER_1K,
    )


def max_retries(params: JudgeParams | PythonParams) -> int:
    """How often a transient judge failure is tried again (a Python evaluator: never)."""
    if isinstance(params, PythonParams):
        return 0
    return settings.JUDGE_MAX_RETRIES if params.max_retries is None else params.max_retries


def sampled(check_id: int, interaction_id: int, rate: float) -> bool:
    """A deterministic draw: the same check samples the same interactions on every run."""
    if rate >= 1:
        return True
    digest = hashlib.blake2b(f"{check_id}:{interaction_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def _verdict(check_id: int, severity: int, threshold: float, result: JudgeVerdict) -> Verdict:
    # The flag keeps the evaluator's own score (1 = fully meets the rubric), the number the
    # `uncertain` band, the API and the workspace all use; below the threshold it is flagged.
    return Verdict(
        check_id=check_id,
        severity=severity,
        score=round(result.score, 6),
        flagged=result.score < threshold,
        label=result.label[:64],
        rationale=result.rationale,
    )


def _error(check_id: int, error: JudgeError) -> Verdict:
    return Verdict(
        check_id=check_id,
        severity=Severity.INFO,
        # No score: a failed evaluation must not land in an `uncertain` band.
        score=None,
        flagged=True,
        label=error.code,
        rationale=error.message[:2000],
    )


def unusable(check_id: int, reason: str) -> Verdict:
    """The verdict of an evaluator whose stored configuration no longer validates."""
    return _error(check_id, JudgeError(EVALUATOR_UNAVAILABLE, reason))


@dataclass
class EvaluatorRun:
    """Evaluates interactions with one evaluator check; counts what the calls cost."""

    check_id: int
    severity: int
    params: JudgeParams | PythonParams
    client: JudgeClient | None = None
    function: PythonEvaluator | None = None
    # One call per item, no sleeping between tries: the caller retries later instead.
    single_attempt: bool = False
    # Raise a transient failure (JudgeError.transient) for that later retry instead of
    # recording it as a verdict; off for the last attempt.
    defer_transient: bool = False

    def evaluate(self, item: InteractionText) -> Verdict:
        try:
            if isinstance(self.params, JudgeParams):
                if self.client is None:
                    self.client = JudgeClient(
                        judge_config(self.params, single_attempt=self.single_attempt)
                    )
                result = self.client.evaluate(
                    rubric=self.params.rubric,
                    response=item.response,
                    prompt=item.prompt,
                    context=item.context,
                )
            else:
                result = run_python_evaluator(
                    self._python_evaluator(), prompt=item.prompt, response=item.response
                )
        except JudgeError as error:
            if error.transient and self.defer_transient:
                raise
            return _error(self.check_id, error)
        return _verdict(self.check_id, self.severity, self.params.threshold, result)

    def _python_evaluator(self) -> PythonEvaluator:
        """The allow-listed function the check names, imported from its settings entry only."""
        assert isinstance(self.params, PythonParams)
        if self.function is None:
            target = settings.EVALUATORS.get(self.params.evaluator)
            if target is None:
                raise JudgeError(
                    EVALUATOR_UNAVAILABLE,
                    f"the evaluator {self.params.evaluator!r} is no longer in the EVALUATORS "
                    "setting; add it back or point the check at another one",
                )
            try:
                self.function = load_python_evaluator(target)
            except ValueError as exc:
                raise JudgeError(EVALUATOR_ERROR, str(exc)) from None
        return self.function

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
