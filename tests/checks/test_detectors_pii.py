from __future__ import annotations

import itertools
import time
from collections.abc import Collection

import pytest

from annotation.checks.detectors import PII_KINDS, Span, find_pii


def _found(
    text: str, *, kinds: Collection[str] | None = None, default_region: str = "US"
) -> list[tuple[str, str]]:
    spans = find_pii(text, kinds=kinds, default_region=default_region)
    return [(s.kind, text[s.start : s.end]) for s in spans]


# --- payment cards -----------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",  # Visa test number
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",  # Mastercard
        "3782 822463 10005",  # American Express
        "6011 1111 1111 1117",  # Discover
        "3530 1113 3330 0000",  # JCB
        "3056 9309 0259 04",  # Diners Club
    ],
)
def test_it_flags_luhn_valid_card_numbers(card: str) -> None:
    assert _found(f"Charge card {card} today.") == [("payment_card", card)]


@pytest.mark.parametrize(
    "digits",
    [
        "4111 1111 1111 1112",  # Luhn checksum fails
        "5500 0000 0000 0005",
        "1234 5678 9012 3452",  # Luhn passes, but no card network issues 1xxx
        "0000 0000 0000 0000",
        "4111 1111 1111",  # too short
    ],
)
def test_it_ignores_numbers_that_are_not_valid_cards(digits: str) -> None:
    assert _found(f"Reference {digits} attached.", kinds=["payment_card"]) == []


def test_it_keeps_the_card_span_exact_when_an_expiry_date_follows() -> None:
    text = "Card: 4111 1111 1111 1111 12 27, thanks"
    assert find_pii(text) == [Span(6, 25, "payment_card")]


# --- IBAN --------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "DE89 3704 0044 0532 0130 00",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91 ABNA 0417 1643 00",
        "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
        "MT86 MALT 0110 0ABC DEFG HIJK LMNO PQR",  # few digits in a row
    ],
)
def test_it_flags_ibans_with_a_valid_checksum(iban: str) -> None:
    assert _found(f"Pay to {iban} please.") == [("iban", iban)]


@pytest.mark.parametrize(
    "bad",
    [
        "GB82 WEST 1234 5698 7654 33",
        "GB83WEST12345698765432",
        "DE89 3704 0044 0532 0130 01",
        "XX82 WEST 1234 5698 7654 32",
    ],
)
def test_it_ignores_ibans_with_a_bad_checksum(bad: str) -> None:
    assert _found(f"Pay to {bad} please.", kinds=["iban"]) == []


def test_it_stops_an_iban_before_following_uppercase_words() -> None:
    text = "IBAN GB82 WEST 1234 5698 7654 32 THANK YOU"
    assert find_pii(text) == [Span(5, 32, "iban")]


# --- phone numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",  # United Kingdom
        "+49 30 901820",  # Germany
        "+33 1 42 68 53 00",  # France
        "+81 3-3224-9999",  # Japan
        "+91 98765 43210",  # India
        "+61 2 9374 4000",  # Australia
        "+55 11 3003-4000",  # Brazil
        "+1 202 456 1111",  # United States
    ],
)
def test_it_flags_international_phone_numbers(phone: str) -> None:
    assert _found(f"Call {phone} after nine.") == [("phone", phone)]


@pytest.mark.parametrize("phone", ["(202) 456-1111", "202-456-1111", "202.456.1111"])
def test_it_flags_national_phone_numbers_of_the_default_region(phone: str) -> None:
    assert _found(f"Call {phone} after nine.") == [("phone", phone)]


def test_it_reads_national_numbers_for_another_default_region() -> None:
    text = "Ring 020 7946 0958 tomorrow."
    assert _found(text) == []
    assert _found(text, default_region="GB") == [("phone", "020 7946 0958")]


@pytest.mark.parametrize(
    "text",
    [
        "Order 12345678 shipped.",
        "Ticket #123456789 was closed.",
        "It happened on 2024-01-15 at 10:30.",
        "Born 15/01/2024.",
        "Upgrade to version 1.2.3 now.",
        "The total was 1,234,567 dollars.",
        "Call 555-0100 for help.",
    ],
)
def test_it_ignores_digit_runs_that_are_not_phone_numbers(text: str) -> None:
    assert _found(text) == []


def test_it_gives_exact_phone_offsets() -> None:
    assert find_pii("Call +44 20 7946 0958 now") == [Span(5, 21, "phone")]


# --- SSN ---------------------------------------------------------------------


def test_it_flags_a_valid_ssn() -> None:
    assert find_pii("SSN: 536-90-4399.") == [Span(5, 16, "ssn")]


@pytest.mark.parametrize(
    "ssn",
    [
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "912-12-3456",  # area 9xx
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "1536-90-4399",  # not a standalone number
        "536-90-43990",
    ],
)
def test_it_ignores_numbers_the_ssa_never_issues(ssn: str) -> None:
    assert _found(f"SSN {ssn} on file", kinds=["ssn"]) == []


# --- email -------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["jane.doe@example.com", "j+tag@mail.example.co.uk", "x_y-z@sub-domain.io"],
)
def test_it_flags_email_addresses(email: str) -> None:
    assert _found(f"Write to {email}.") == [("email", email)]


def test_it_gives_exact_email_offsets() -> None:
    assert find_pii("Email me at jane.doe@example.com today") == [Span(12, 32, "email")]


@pytest.mark.parametrize("text", ["follow @jane on x", "a@b", "user@localhost", "1 @ 2"])
def test_it_ignores_things_that_are_not_email_addresses(text: str) -> None:
    assert _found(text) == []


# --- IP addresses --------------------------------------------------------------


@pytest.mark.parametrize(
    "ip",
    [
        "192.168.1.1",
        "10.0.0.1",
        "8.8.8.8",
        "::1",
        "2001:db8::1",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "fe80::1ff:fe23:4567:890a",
        "::ffff:192.0.2.1",
    ],
)
def test_it_flags_ip_addresses(ip: str) -> None:
    assert _found(f"Host {ip} is down.") == [("ip_address", ip)]


@pytest.mark.parametrize(
    "text",
    [
        "Host 999.1.1.1 is down.",
        "Host 256.1.1.1 is down.",
        "Use version 1.2.3 of the library.",
        "Use version 1.2.3.4.5 of the library.",
        "Host 01.2.3.4 is down.",
        "It ended at 12:30:45 sharp.",
        "Call std::vector::push_back.",
        "Host 2001:db8:::1 is down.",
    ],
)
def test_it_ignores_things_that_are_not_ip_addresses(text: str) -> None:
    assert _found(text, kinds=["ip_address"]) == []


# --- secrets -------------------------------------------------------------------

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-4fT9xQ2LmN8pR3sV6wY1zB7cD0eH5jKa",  # OpenAI project key
        "sk-4fT9xQ2LmN8pR3sV6wY1zB7cD0eH5jKaT3BlbkFJ",  # OpenAI legacy key
        "sk-ant-api03-AbCdEf0123456789AbCdEf0123-xyzXYZ",  # Anthropic
        "AKIAIOSFODNN7EXAMPLE",  # AWS long-term access key id
        "ASIAY34FZKBOKMUTVV7A",  # AWS temporary access key id
        "ghp_" + "a1B2c3D4e5" * 3 + "a1B2c3",  # GitHub personal access token
        "gho_" + "Z9y8X7w6V5" * 3 + "Z9y8X7",  # GitHub OAuth token
        "ghs_" + "Q1w2E3r4T5" * 3 + "Q1w2E3",  # GitHub server-to-server token
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",  # Slack
        "xoxp-123456789012-abcdefghij",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",  # Stripe secret key
        "rk_live_4eC39HqLyjWDarjtT1zdp7dc",  # Stripe restricted key
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",  # Google API key
        JWT,
    ],
)
def test_it_flags_provider_secrets(secret: str) -> None:
    assert _found(f"Use {secret} in the config.") == [("secret", secret)]


def test_it_flags_a_bearer_token_header_as_one_span() -> None:
    text = "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0\n"
    assert find_pii(text) == [Span(15, 54, "secret")]


def test_it_flags_a_bearer_jwt_as_one_secret_not_two() -> None:
    assert _found(f"Authorization: Bearer {JWT}") == [("secret", f"Bearer {JWT}")]


def test_it_flags_a_pem_private_key_block() -> None:
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
        "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
        "-----END RSA PRIVATE KEY-----"
    )
    text = f"Here is the key:\n{pem}\nKeep it safe."
    assert find_pii(text) == [Span(17, 17 + len(pem), "secret")]


def test_it_flags_a_pem_private_key_cut_off_before_its_end_line() -> None:
    text = (
        "-----BEGIN PRIVATE KEY-----\n"
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
        "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu"
    )
    assert find_pii(text) == [Span(0, len(text), "secret")]


def test_it_pairs_each_pem_begin_line_with_its_own_end_line() -> None:
    text = (
        "-----BEGIN EC PRIVATE KEY-----\nQUJDREVG\nthen the reply was cut. "
        "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
    )
    assert _found(text) == [
        ("secret", "-----BEGIN EC PRIVATE KEY-----\nQUJDREVG"),
        ("secret", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Use a task-management-system-for-your-team to plan.",
        "Try sk-learn-is-a-great-library-for-everyone today.",
        "The key is sk-short1.",
        "AKIA is a prefix; AKIAIOSFODNN7EXAMPL is too short.",
        "Bearer authentication-is-explained-in-rfc-six-seven-five-zero.",
        "The ghp_ prefix marks a personal token.",
        "-----BEGIN PUBLIC KEY----- is not secret.",
        "Ask for eyJ tokens.",
    ],
)
def test_it_ignores_things_that_only_look_like_secrets(text: str) -> None:
    assert _found(text) == []


# --- the whole pass -----------------------------------------------------------


def test_it_returns_sorted_non_overlapping_spans_of_every_kind() -> None:
    text = (
        "Mail jane@example.com or call +44 20 7946 0958. Card 4111 1111 1111 1111, "
        "IBAN GB82 WEST 1234 5698 7654 32, SSN 536-90-4399, host 10.0.0.1, "
        "key AKIAIOSFODNN7EXAMPLE."
    )
    spans = find_pii(text)
    assert [s.kind for s in spans] == [
        "email",
        "phone",
        "payment_card",
        "iban",
        "ssn",
        "ip_address",
        "secret",
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_it_only_looks_for_the_kinds_asked_for() -> None:
    text = "Mail jane@example.com, host 10.0.0.1"
    assert _found(text, kinds=["ip_address"]) == [("ip_address", "10.0.0.1")]
    assert _found(text, kinds=[]) == []


def test_it_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="passport"):
        find_pii("text", kinds=["email", "passport"])


def test_it_finds_nothing_in_clean_prose() -> None:
    text = (
        "In 2023, revenue grew by 14% while costs fell. Version 2.4.1 fixed the leak; "
        "see section 3.2 for details. The meeting on 2024-03-15 at 10:30 went well."
    )
    assert find_pii(text) == []
    assert set(PII_KINDS) == {
        "email",
        "phone",
        "payment_card",
        "iban",
        "ssn",
        "ip_address",
        "secret",
    }


def test_it_serializes_spans() -> None:
    assert Span(1, 4, "email").to_dict() == {"start": 1, "end": 4, "kind": "email"}


@pytest.mark.parametrize(
    "text",
    [
        "a" * 50_000 + "@",
        "1" * 20_000,
        "1 " * 10_000,
        "1." * 10_000,
        ":" * 10_000 + "a:" * 5_000,
        "sk-" + "a" * 50_000,
        "-----BEGIN PRIVATE KEY-----" * 2_000,
    ],
)
def test_it_stays_fast_on_adversarial_input(text: str) -> None:
    started = time.perf_counter()
    find_pii(text)
    assert time.perf_counter() - started < 2.0
