"""Retry waits grow exponentially with jitter and a cap; sealed secrets survive key rotation."""

from __future__ import annotations

import random

import pytest

from annotation.outbound.backoff import retry_delay, retryable_status
from annotation.outbound.sealing import SealBroken, seal, unseal


def test_waits_double_with_half_of_each_left_to_chance() -> None:
    rng = random.Random(7)
    for attempt, nominal in [(1, 10), (2, 20), (3, 40), (4, 80)]:
        waits = [retry_delay(attempt, base=10, cap=1800, rng=rng) for _ in range(2000)]
        assert nominal / 2 <= min(waits) and max(waits) <= nominal
        # Uniform over the upper half: its mean is three quarters of the nominal wait.
        assert sum(waits) / len(waits) == pytest.approx(0.75 * nominal, rel=0.02)


def test_waits_stop_growing_at_the_cap() -> None:
    waits = [retry_delay(20, base=10, cap=60) for _ in range(200)]
    assert min(waits) >= 30 and max(waits) <= 60


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (503, True), (429, True), (408, True), (425, True), (400, False), (404, False)],
)
def test_which_answers_are_retried(status: int, retry: bool) -> None:
    assert retryable_status(status) is retry


def test_a_sealed_secret_opens_with_its_key_and_after_rotation() -> None:
    sealed = seal("whsec_abc-0123456789", ["old-key"])
    assert "whsec_abc" not in sealed
    assert unseal(sealed, ["old-key"]) == "whsec_abc-0123456789"
    assert unseal(sealed, ["new-key", "old-key"]) == "whsec_abc-0123456789"
    with pytest.raises(SealBroken):
        unseal(sealed, ["new-key"])
    with pytest.raises(SealBroken):
        unseal(sealed[:-4] + "AAAA", ["old-key"])
