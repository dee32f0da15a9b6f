"""Signatures: what a receiver checks (README: verifying deliveries)."""

from __future__ import annotations

from annotation.outbound.signing import signature_header, verify_signature

SECRET = "whsec_0123456789abcdef"
BODY = b'{"event":"alert.fired"}'


def test_a_signature_verifies_with_the_secret() -> None:
    header = signature_header(SECRET, BODY, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature(SECRET, BODY, header, now=1_700_000_010)


def test_it_fails_with_another_secret_or_body() -> None:
    header = signature_header(SECRET, BODY, 1_700_000_000)
    assert not verify_signature("whsec_another-secret", BODY, header, now=1_700_000_000)
    assert not verify_signature(SECRET, BODY + b" ", header, now=1_700_000_000)


def test_an_old_timestamp_is_refused() -> None:
    header = signature_header(SECRET, BODY, 1_700_000_000)
    assert not verify_signature(SECRET, BODY, header, now=1_700_000_301, tolerance=300)
    assert verify_signature(SECRET, BODY, header, now=1_700_000_300, tolerance=300)


def test_garbage_headers_are_refused() -> None:
    for header in ["", "t=abc,v1=00", "v1=00", "t=1700000000"]:
        assert not verify_signature(SECRET, BODY, header, now=1_700_000_000)
