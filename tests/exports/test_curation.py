from __future__ import annotations

import gc

import pytest

from annotation.checks.detectors import PII_KINDS, Span
from annotation.exports.curation import (
    PLACEHOLDERS,
    DuplicateFilter,
    prompt_key,
    redact,
    redact_messages,
    redact_row,
    redact_spans,
    split_for,
)
from tests.exports.samples import rows_of

PII_SAMPLES = {
    "email": "jane.doe@example.com",
    "phone": "+44 20 7946 0958",
    "payment_card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ssn": "536-90-4399",
    "ip_address": "203.0.113.7",
    "secret": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
}


# --- prompt keys and duplicates ----------------------------------------------------


def test_it_gives_equal_prompts_equal_keys_whatever_the_key_order() -> None:
    a = [{"role": "user", "content": "hi"}]
    b = [{"content": "hi", "role": "user", "name": "ignored"}]

    assert prompt_key(a) == prompt_key(b)
    assert len(prompt_key(a)) == 64


@pytest.mark.parametrize(
    "other",
    [
        [{"role": "user", "content": "hi "}],
        [{"role": "system", "content": "hi"}],
        [{"role": "user", "content": "hi"}, {"role": "user", "content": "hi"}],
    ],
)
def test_it_gives_different_prompts_different_keys(other: list[dict[str, str]]) -> None:
    assert prompt_key([{"role": "user", "content": "hi"}]) != prompt_key(other)


def test_it_collapses_exact_duplicates_keeping_the_first() -> None:
    prompts = ["a", "b", "a", "c", "b", "a"]
    seen = DuplicateFilter()

    kept = [p for p in prompts if seen.add(prompt_key([{"role": "user", "content": p}]))]

    assert kept == ["a", "b", "c"]
    assert len(seen) == 3


# --- splits ------------------------------------------------------------------------


def test_it_splits_the_same_way_on_every_run() -> None:
    keys = [prompt_key([{"role": "user", "content": str(i)}]) for i in range(500)]

    first = [split_for(k, validation=0.2, seed=7) for k in keys]
    again = [split_for(k, validation=0.2, seed=7) for k in keys]
    other_seed = [split_for(k, validation=0.2, seed=8) for k in keys]

    assert first == again
    assert first != other_seed


@pytest.mark.parametrize("validation", [0.05, 0.1, 0.5])
def test_it_splits_close_to_the_requested_ratio(validation: float) -> None:
    n = 20_000
    keys = [prompt_key([{"role": "user", "content": f"q{i}"}]) for i in range(n)]

    share = sum(split_for(k, validation=validation, seed=7) == "validation" for k in keys) / n

    # Four standard deviations of a binomial proportion.
    assert abs(share - validation) < 4 * (validation * (1 - validation) / n) ** 0.5


def test_it_puts_everything_in_train_or_validation_at_the_extremes() -> None:
    key = prompt_key([{"role": "user", "content": "x"}])

    assert split_for(key, validation=0.0, seed=1) == "train"
    assert split_for(key, validation=1.0, seed=1) == "validation"


def test_it_refuses_a_validation_share_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_for("k", validation=10, seed=1)


# --- redaction ---------------------------------------------------------------------


def test_the_samples_cover_every_pii_kind() -> None:
    assert set(PII_SAMPLES) == set(PII_KINDS) == set(PLACEHOLDERS)


@pytest.mark.parametrize("kind", sorted(PII_SAMPLES))
def test_it_replaces_each_kind_of_pii_by_its_placeholder(kind: str) -> None:
    text, kinds = redact(f"Here: {PII_SAMPLES[kind]} (end)")

    assert text == f"Here: {PLACEHOLDERS[kind]} (end)"
    assert kinds == [kind]


def test_it_redacts_every_kind_in_one_text_and_reports_them() -> None:
    original = " | ".join(f"{kind}: {value}" for kind, value in PII_SAMPLES.items())

    text, kinds = redact(original)

    assert kinds == sorted(PII_SAMPLES)
    for kind, value in PII_SAMPLES.items():
        assert value not in text
        assert f"{kind}: {PLACEHOLDERS[kind]}" in text


def test_it_leaves_clean_text_alone() -> None:
    assert redact("Version 3.2.1 fixed it on 2026-01-02.") == (
        "Version 3.2.1 fixed it on 2026-01-02.",
        [],
    )


def test_it_redacts_with_spans_already_found() -> None:
    assert redact_spans("ab x@y.io cd", [Span(3, 9, "email")]) == ("ab [EMAIL] cd", ["email"])


def test_it_redacts_message_contents_and_keeps_the_rest() -> None:
    messages = [
        {"role": "system", "content": "Be kind."},
        {
            "role": "user",
            "content": f"I am {PII_SAMPLES['email']}, card {PII_SAMPLES['payment_card']}",
        },
    ]

    redacted, kinds = redact_messages(messages)

    assert redacted == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "I am [EMAIL], card [PAYMENT_CARD]"},
    ]
    assert kinds == ["email", "payment_card"]
    assert messages[1]["content"].startswith("I am jane")


def test_it_redacts_the_free_text_fields_of_every_kind() -> None:
    email, card = PII_SAMPLES["email"], PII_SAMPLES["payment_card"]
    prompt = [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": f"I am {email}"},
    ]
    clean_prompt = [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "I am [EMAIL]"},
    ]
    sft_input = {"messages": [*prompt, {"role": "assistant", "content": f"Card {card}"}]}
    preference_input = {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": "ok"}],
        "rejected": [{"role": "assistant", "content": f"card {card}"}],
    }
    eval_input = {
        "id": "req-1",
        "prompt": prompt,
        "reference": f"card {card}",
        "response": None,
        "labels": {"verdict": "bad", "comment": [f"{email}"], "rating": 2},
        "reasons": ["incorrect"],
    }
    retrieval_input = {
        "query_id": "q1",
        "query": f"who is {email}",
        "doc_id": "kb-1",
        "doc_text": f"card {card}",
        "relevant": True,
        "rank": 1,
        "score": None,
        "source": None,
    }

    sft, kinds = redact_row("sft", sft_input)
    assert sft == {
        "messages": [*clean_prompt, {"role": "assistant", "content": "Card [PAYMENT_CARD]"}]
    }
    assert kinds == ["email", "payment_card"]

    preference, _ = redact_row("preference", preference_input)
    assert preference["prompt"] == clean_prompt
    assert preference["rejected"] == [{"role": "assistant", "content": "card [PAYMENT_CARD]"}]

    evaluation, _ = redact_row("eval", eval_input)
    assert evaluation["reference"] == "card [PAYMENT_CARD]"
    assert evaluation["labels"] == {"verdict": "bad", "comment": ["[EMAIL]"], "rating": 2}
    assert evaluation["id"] == "req-1"

    retrieval, _ = redact_row("retrieval", retrieval_input)
    assert (retrieval["query"], retrieval["doc_text"]) == ("who is [EMAIL]", "card [PAYMENT_CARD]")


def test_it_redacts_review_values_but_not_annotation_ids() -> None:
    row = rows_of("annotations", 1)[0]
    row = {**row, "values": {"correction": f"Call {PII_SAMPLES['phone']}", "rating": 2}}

    redacted, kinds = redact_row("annotations", row)

    assert redacted["values"] == {"correction": "Call [PHONE]", "rating": 2}
    assert kinds == ["phone"]
    assert {k: v for k, v in redacted.items() if k != "values"} == {
        k: v for k, v in row.items() if k != "values"
    }


def test_the_duplicate_filter_stays_out_of_the_garbage_collectors_way() -> None:
    seen = DuplicateFilter()
    for i in range(1_000):
        seen.add(prompt_key([{"role": "user", "content": str(i)}]))

    # One flat array of numbers, however many keys: nothing in it for the collector to walk.
    assert len(seen) == 1_000
    assert [r for r in gc.get_referents(seen._seen) if not isinstance(r, type)] == []
