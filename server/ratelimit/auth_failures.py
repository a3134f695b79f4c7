"""Bad credentials are counted against the caller's address.

Every call with a credential that does not resolve (an unknown API key, a dead
session) costs one unit of the address's `anonymous.auth_failure` budget, shared
through Redis like every other budget. Once it is spent, the address gets
RESOURCE_EXHAUSTED with RetryInfo, and this process stops looking its
credentials up at all until the window resets: a flood of made-up keys then
costs neither Postgres nor Redis.
"""

from __future__ import annotations

import time

from server.domain import refusals
from server.domain.errors import QuotaExceeded
from server.domain.principal import Tier
from server.observability.metrics import RATE_LIMITED
from server.ratelimit.limiter import RateLimiter
from server.ratelimit.policy import MethodClass

_MAX_BLOCKED = 10_000  # addresses remembered per process; expired ones are pruned first


def _refusal(retry_after_s: float) -> QuotaExceeded:
    return refusals.auth_failures_rate_limited(retry_after_s)


class AuthFailureGate:
    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter
        self._blocked_until: dict[str, float] = {}
        self._last_until = 0.0  # when the last of them is free again

    @property
    def blocking(self) -> bool:
        """Whether any address may be refused here now (else `admit` has nothing to check)."""
        if self._blocked_until and time.monotonic() >= self._last_until:
            self._blocked_until.clear()  # every block has run out
        return bool(self._blocked_until)

    def admit(self, address: str) -> None:
        """Before a lookup: refuse an address whose budget this process saw spent."""
        until = self._blocked_until.get(address)
        if until is None:
            return
        remaining = until - time.monotonic()
        if remaining > 0:
            RATE_LIMITED.labels(Tier.ANONYMOUS, MethodClass.AUTH_FAILURE).inc()
            raise _refusal(remaining)
        del self._blocked_until[address]

    async def failed(self, address: str) -> None:
        """After a credential did not resolve: count it; raise once the budget is spent."""
        decision = await self._limiter.check(
            Tier.ANONYMOUS, MethodClass.AUTH_FAILURE, "ip:" + address
        )
        if decision.allowed:
            return
        if len(self._blocked_until) >= _MAX_BLOCKED:
            now = time.monotonic()
            self._blocked_until = {a: t for a, t in self._blocked_until.items() if t > now}
            if len(self._blocked_until) >= _MAX_BLOCKED:
                self._blocked_until.clear()
        self._blocked_until[address] = time.monotonic() + decision.reset_after_s
        self._last_until = max(self._last_until, self._blocked_until[address])
        RATE_LIMITED.labels(Tier.ANONYMOUS, MethodClass.AUTH_FAILURE).inc()
        raise _refusal(decision.reset_after_s)
