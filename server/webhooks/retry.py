"""Retry schedule of a failed delivery: exponential backoff with full jitter, bounded.

Retries are scheduled in the database (next_attempt_at) rather than in-process
(e.g. tenacity): a delivery waiting an hour must survive restarts and may be
picked up by another scheduler instance.
"""

from __future__ import annotations

import random

_RANDOM = random.Random()


def backoff_s(
    attempts: int, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Delay before the next attempt after `attempts` failed ones: U(0, min(cap, base·2^(n-1))).

    Full jitter spreads the retries of many webhooks failing together (a receiver
    outage) instead of bringing them back in one wave.
    """
    ceiling = min(cap_s, base_s * 2.0 ** max(attempts - 1, 0))
    delay: float = (rng or _RANDOM).uniform(0, ceiling)
    return delay


def retry_window_s(max_attempts: int, base_s: float, cap_s: float) -> float:
    """The longest a delivery can stay pending: the sum of the largest delays."""
    return sum(min(cap_s, base_s * 2.0 ** (n - 1)) for n in range(1, max_attempts))
