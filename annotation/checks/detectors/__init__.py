"""Pure-Python rule-based detectors: no Django, no network, no database."""

from __future__ import annotations

from annotation.checks.detectors.blocklist import DEFAULT_TOXICITY_TERMS, Blocklist
from annotation.checks.detectors.formatting import (
    DEFAULT_REFUSAL_PHRASES,
    FormatIssue,
    check_empty,
    check_json,
    check_language,
    check_max_length,
    check_refusal,
    check_truncated,
    validate_json_schema,
    validate_regex,
)
from annotation.checks.detectors.pii import PII_KINDS, find_pii
from annotation.checks.detectors.spans import Span

__all__ = [
    "DEFAULT_REFUSAL_PHRASES",
    "DEFAULT_TOXICITY_TERMS",
    "PII_KINDS",
    "Blocklist",
    "FormatIssue",
    "Span",
    "check_empty",
    "check_json",
    "check_language",
    "check_max_length",
    "check_refusal",
    "check_truncated",
    "find_pii",
    "validate_json_schema",
    "validate_regex",
]
