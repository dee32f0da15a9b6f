from __future__ import annotations

from typing import Any

import pytest

from annotation.checks.rules import compile_rule
from annotation.checks.verdicts import InteractionText


def item(
    response: str, *, prompt: str = "Hi", template: str = "", **metadata: Any
) -> InteractionText:
    return InteractionText(
        id=1,
        response=response,
        messages=[{"role": "user", "content": prompt}],
        prompt_template=template,
        metadata=metadata,
    )


def run(check_type: str, response: str, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:
    return compile_rule(7, check_type, 30, parameters or {}).evaluate(item(response, **kw))


def test_pii_flags_an_email_with_its_span() -> None:
    verdict = run("pii", "Write to dana.miller@example.com today.")

    assert verdict.check_id == 7 and verdict.severity == 30 and verdict.score == 1.0
    assert verdict.spans == [{"start": 9, "end": 32, "kind": "email"}]
    assert verdict.label == "email"


def test_pii_ignores_numbers_that_fail_validation() -> None:
    assert run("pii", "Card 4111 1111 1111 1112, order 12345678.") is None


def test_pii_reports_every_kind_found() -> None:
    verdict = run("pii", "Card 4111 1111 1111 1111 or call +44 20 7946 0958.")

    assert verdict.label == "payment_card,phone"


def test_pii_only_scans_the_prompt_when_asked() -> None:
    prompt = "My email is kim@example.org"

    assert run("pii", "Thanks!", prompt=prompt) is None
    verdict = run("pii", "Thanks!", {"scan_prompt": True}, prompt=prompt)
    assert verdict.spans == [{"start": 12, "end": 27, "kind": "email", "in": "prompt"}]


def test_pii_limits_itself_to_the_kinds_configured() -> None:
    assert run("pii", "Mail kim@example.org", {"kinds": ["phone"]}) is None


def test_blocklist_finds_obfuscated_default_terms_and_custom_ones() -> None:
    verdict = run(
        "blocklist", "You are an 1d10t and a competitor-name fan", {"terms": ["competitor name"]}
    )

    assert verdict is not None
    assert [s["kind"] for s in verdict.spans] == ["blocklist", "blocklist"]
    assert "idiot" in verdict.rationale


def test_blocklist_respects_word_boundaries() -> None:
    assert run("blocklist", "This class will assess your skills.") is None


def test_blocklist_can_drop_the_defaults() -> None:
    assert run("blocklist", "You idiot", {"include_defaults": False, "terms": ["spam"]}) is None


@pytest.mark.parametrize(
    ("response", "parameters", "metadata", "label"),
    [
        ("   ", {}, {}, "empty_response"),
        ("x" * 50, {"max_chars": 10}, {}, "too_long"),
        ("I'm sorry, but I can't help with that.", {}, {}, "refusal"),
        ("The answer is", {}, {"finish_reason": "length"}, "truncated"),
        (
            "Das ist eine sehr gute Frage, und die Antwort ist ganz einfach.",
            {"language": "en"},
            {},
            "wrong_language",
        ),
        (
            "Reset it. INTERNAL USE ONLY",
            {"deny_patterns": ["(?i)internal use only"]},
            {},
            "denied_pattern",
        ),
    ],
)
def test_format_issues(
    response: str, parameters: dict[str, Any], metadata: dict[str, Any], label: str
) -> None:
    verdict = run("format", response, parameters, **metadata)

    assert verdict is not None
    assert label in verdict.label.split(",")


def test_format_checks_json_only_for_templates_that_expect_it() -> None:
    parameters = {"json_templates": {"extract": {"type": "object", "required": ["order_id"]}}}

    assert run("format", "not json", parameters, template="chat") is None
    assert run("format", "not json", parameters, template="extract").label == "invalid_json"
    assert run("format", '{"x": 1}', parameters, template="extract").label == "schema_mismatch"
    assert run("format", '```json\n{"order_id": 3}\n```', parameters, template="extract") is None


def test_format_passes_a_good_answer() -> None:
    assert run("format", "Open Settings, then Security, then Reset password.") is None
