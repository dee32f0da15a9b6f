"""How long a failed delivery waits before its next attempt: exponential, with jitter."""

from __future__ import annotations

import random


def retry_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1 for the first).

    Half of ``base * 2**(attempt-1)`` (at most ``cap``) for sure, the other half at random:
    retries never come sooner than half the nominal wait, and receivers that failed together
    (an outage) are not hit again all at once.
    """
    nominal = min(cap, base * 2 ** max(attempt - 1, 0))
    return nominal / 2 + (rng or random).uniform(0, nominal / 2)


def retryable_status(status: int) -> bool:
    """Server errors, and the answers that ask to be tried later (408, 425, 429)."""
    return status >= 500 or status in (408, 425, 429)
