"""Model-based checks: an LLM judge over an OpenAI-compatible endpoint, or a Python callable."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings

from annotation.checks.config import JudgeParams, PythonParams
from annotation.checks.judge import (
    JudgeClient,
    JudgeConfig,
    JudgeError,
    JudgeVerdict,
    load_python_evaluator,
    run_python_evaluator,
)
from annotation.checks.verdicts import InteractionText, Verdict
from annotation.models import Severity


def judge_config(params: JudgeParams) -> JudgeConfig:
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
        max_retries=settings.JUDGE_MAX_RETRIES
        if params.max_retries is None
        else params.max_retries,
        backoff_seconds=settings.JUDGE_BACKOFF_SECONDS,
        input_cost_per_1k=settings.JUDGE_INPUT_COST_PER_1K,
        output_cost_per_1k=settings.JUDGE_OUTPUT_COST_PER_1K,
    )


def sampled(check_id: int, interaction_id: int, rate: float) -> bool:
    """A deterministic draw: the same check samples the same interactions on every run."""
    if rate >= 1:
        return True
    digest = hashlib.blake2b(f"{check_id}:{interaction_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def _verdict(check_id: int, severity: int, threshold: float, result: JudgeVerdict) -> Verdict:
    # Evaluators score how well the response meets the rubric; a flag scores the problem.
    return Verdict(
        check_id=check_id,
        severity=severity,
        score=round(1.0 - result.score, 6),
        flagged=result.score < threshold,
        label=result.label[:64],
        rationale=result.rationale,
    )


def _error(check_id: int, error: JudgeError) -> Verdict:
    return Verdict(
        check_id=check_id,
        severity=Severity.INFO,
        score=0.0,
        flagged=True,
        label=error.code,
        rationale=error.message[:2000],
    )


@dataclass
class EvaluatorRun:
    """Evaluates interactions with one evaluator check; counts what the calls cost."""

    check_id: int
    severity: int
    params: JudgeParams | PythonParams
    client: JudgeClient | None = None

    def evaluate(self, item: InteractionText) -> Verdict:
        try:
            if isinstance(self.params, JudgeParams):
                if self.client is None:
                    self.client = JudgeClient(judge_config(self.params))
                result = self.client.evaluate(
                    rubric=self.params.rubric,
                    response=item.response,
                    prompt=item.prompt,
                    context=item.context,
                )
            else:
                function = load_python_evaluator(self.params.callable)
                result = run_python_evaluator(function, prompt=item.prompt, response=item.response)
        except JudgeError as error:
            return _error(self.check_id, error)
        return _verdict(self.check_id, self.severity, self.params.threshold, result)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
