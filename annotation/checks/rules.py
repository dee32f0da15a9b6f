"""Rule-based checks (PII, blocklist, format), compiled once per configuration; no network."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from annotation.checks.config import BlocklistParams, FormatParams, PiiParams, parse_params
from annotation.checks.detectors import (
    DEFAULT_TOXICITY_TERMS,
    Blocklist,
    FormatIssue,
    Span,
    check_empty,
    check_json,
    check_language,
    check_max_length,
    check_refusal,
    check_truncated,
    find_pii,
)
from annotation.checks.detectors.linear_regex import compile_linear
from annotation.checks.verdicts import InteractionText, Verdict
from annotation.models import CheckType


@dataclass(frozen=True)
class RuleCheck:
    check_id: int
    severity: int
    evaluate: Callable[[InteractionText], Verdict | None]


def _spans(found: Iterable[Span], where: str) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    for span in found:
        entry = span.to_dict()
        if where != "response":
            entry["in"] = where
        spans.append(entry)
    return spans


def _hit(
    check_id: int, severity: int, spans: list[dict[str, Any]], label: str, why: str
) -> Verdict:
    return Verdict(check_id, severity, 1.0, True, spans, label[:64], why)


def _pii(
    check_id: int, severity: int, params: PiiParams
) -> Callable[[InteractionText], Verdict | None]:
    kinds = frozenset(params.kinds)

    def evaluate(item: InteractionText) -> Verdict | None:
        spans = _spans(
            find_pii(item.response, kinds=kinds, default_region=params.region), "response"
        )
        if params.scan_prompt:
            spans += _spans(
                find_pii(item.prompt, kinds=kinds, default_region=params.region), "prompt"
            )
        if not spans:
            return None
        found = sorted({s["kind"] for s in spans})
        return _hit(check_id, severity, spans, ",".join(found), f"Found {', '.join(found)}.")

    return evaluate


@lru_cache(maxsize=256)
def _blocklist(terms: tuple[str, ...]) -> Blocklist:
    return Blocklist(terms)


def _blocklisted(
    check_id: int, severity: int, params: BlocklistParams
) -> Callable[[InteractionText], Verdict | None]:
    terms = tuple(params.terms) + (DEFAULT_TOXICITY_TERMS if params.include_defaults else ())
    blocklist = _blocklist(tuple(sorted(set(terms))))

    def evaluate(item: InteractionText) -> Verdict | None:
        hits = blocklist.find_terms(item.response)
        spans = _spans((span for span, _ in hits), "response")
        matched = [term for _, term in hits]
        if params.scan_prompt:
            prompt_hits = blocklist.find_terms(item.prompt)
            spans += _spans((span for span, _ in prompt_hits), "prompt")
            matched += [term for _, term in prompt_hits]
        if not spans:
            return None
        unique = sorted(set(matched))
        return _hit(check_id, severity, spans, "blocklist", f"Blocklisted: {', '.join(unique)}.")

    return evaluate


def _format(
    check_id: int, severity: int, params: FormatParams
) -> Callable[[InteractionText], Verdict | None]:
    # RE2: a lead's pattern costs at most a linear scan of each response.
    deny = [compile_linear(pattern) for pattern in params.deny_patterns]

    def evaluate(item: InteractionText) -> Verdict | None:
        issues: list[FormatIssue] = []
        if params.empty:
            issues += check_empty(item.response)
        if params.max_chars is not None:
            issues += check_max_length(item.response, params.max_chars)
        if item.prompt_template in params.json_templates:
            issues += check_json(item.response, params.json_templates[item.prompt_template])
        if params.refusal and item.response:
            issues += check_refusal(item.response, params.refusal_phrases)
        if params.truncation:
            issues += check_truncated(item.metadata)
        if params.language and item.response:
            issues += check_language(item.response, params.language)
        for pattern in deny:
            match = pattern.search(item.response)
            if match:
                issues.append(
                    FormatIssue(
                        "denied_pattern",
                        f"The response matches the denied pattern {pattern.pattern!r}.",
                        (Span(match.start(), match.end(), "denied_pattern"),),
                    )
                )
        if not issues:
            return None
        spans = _spans((span for issue in issues for span in issue.spans), "response")
        codes = ",".join(dict.fromkeys(issue.code for issue in issues))
        return _hit(check_id, severity, spans, codes, " ".join(issue.message for issue in issues))

    return evaluate


def compile_rule(
    check_id: int, check_type: str, severity: int, parameters: dict[str, Any]
) -> RuleCheck:
    params = parse_params(check_type, parameters)
    if check_type == CheckType.PII and isinstance(params, PiiParams):
        return RuleCheck(check_id, severity, _pii(check_id, severity, params))
    if check_type == CheckType.BLOCKLIST and isinstance(params, BlocklistParams):
        return RuleCheck(check_id, severity, _blocklisted(check_id, severity, params))
    if check_type == CheckType.FORMAT and isinstance(params, FormatParams):
        return RuleCheck(check_id, severity, _format(check_id, severity, params))
    raise ValueError(f"{check_type} is not a rule check")
