"""Rate limits by principal: agent, else API key, else the trusted client address.

Every limited call carries `x-ratelimit-limit`, `x-ratelimit-remaining` and
`x-ratelimit-reset` (seconds); over budget it fails with RESOURCE_EXHAUSTED and
a google.rpc.RetryInfo saying when to come back.

A cached read counts the call inside its lookup script (a Count ticket,
server/hot/ticket.py: one round trip instead of two); the script refuses before it
reads anything, so a spent budget still costs the registry nothing but the count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from server.call import Call
from server.domain import refusals
from server.domain.principal import Tier
from server.hot.ticket import CountTicket
from server.observability.metrics import RATE_LIMITED
from server.ratelimit.client_ip import Network, client_ip
from server.ratelimit.limiter import Decision, RateLimiter, SharedCounter
from server.ratelimit.policy import MethodClass


def caller_address(call: Call, trusted_hops: int, trusted_proxies: Iterable[Network]) -> str:
    return client_ip(call.peer(), call.forwarded_for, trusted_hops, trusted_proxies)


class CallerKeys:
    """The key the limiter counts a caller under (`agent:`, `key:` or `ip:` + whose), for
    limits kept elsewhere (open watches, server/events/watch.py)."""

    def __init__(self, trusted_hops: int, trusted_proxies: Iterable[Network]) -> None:
        self._trusted_hops = trusted_hops
        self._trusted_proxies = tuple(trusted_proxies)

    def of(self, call: Call) -> str:
        caller = call.caller
        if caller is None:
            return "ip:" + caller_address(call, self._trusted_hops, self._trusted_proxies)
        if caller.api_key_id is not None:
            return "key:" + caller.api_key_id
        return "agent:" + caller.agent_id


class Admission:
    def __init__(
        self, limiter: RateLimiter, trusted_hops: int, trusted_proxies: Iterable[Network]
    ) -> None:
        self._limiter = limiter
        self._trusted_hops = trusted_hops
        self._trusted_proxies = tuple(trusted_proxies)

    async def admit(self, method_class: MethodClass, call: Call) -> None:
        tier, head, who = self._budget_key(call)
        decision = await self._limiter.check(tier, method_class, head + who)
        self.apply(call, decision, tier, method_class)

    def defer(self, method_class: MethodClass, call: Call) -> Count | None:
        """The call's count, now the call's ticket for the handler's script
        (server/hot/ticket.py); None while the shared store is down (the caller then
        `admit`s)."""
        tier, head, who = self._budget_key(call)
        counter = self._limiter.shared_counter(tier, method_class, head)
        if counter is None:
            return None
        ticket = Count(self._limiter, counter, call, tier, method_class, head, who)
        call.ticket = ticket
        return ticket

    def _budget_key(self, call: Call) -> tuple[Tier, str, str]:
        """(tier, kind of key, whose): the budget's key is kind + whose."""
        caller = call.caller
        if caller is None:
            address = caller_address(call, self._trusted_hops, self._trusted_proxies)
            return Tier.ANONYMOUS, "ip:", address
        if caller.api_key_id is not None:
            return caller.tier, "key:", caller.api_key_id
        return caller.tier, "agent:", caller.agent_id

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter

    @staticmethod
    def apply(call: Call, decision: Decision, tier: Tier, method_class: MethodClass) -> None:
        """The decision's response headers; over budget, RESOURCE_EXHAUSTED with RetryInfo."""
        reset = math.ceil(decision.reset_after_s)
        call.pairs += (
            ("x-ratelimit-limit", str(decision.limit)),
            ("x-ratelimit-remaining", str(decision.remaining)),
            ("x-ratelimit-reset", str(reset)),
        )
        if not decision.allowed:
            RATE_LIMITED.labels(tier, method_class).inc()
            raise refusals.rate_limited(
                decision.limit, str(tier), str(method_class), decision.reset_after_s
            )


class Count(CountTicket):
    """A call's budget count, left to the handler's lookup script (server/cache/responses.py)."""

    __slots__ = ("_call", "_counter", "_head", "_limiter", "_method_class", "_tier", "_who")

    def __init__(
        self,
        limiter: RateLimiter,
        counter: SharedCounter,
        call: Call,
        tier: Tier,
        method_class: MethodClass,
        head: str,
        who: str,
    ) -> None:
        super().__init__()
        self._limiter = limiter
        self._counter = counter
        self._call = call
        self._tier = tier
        self._method_class = method_class
        self._head = head
        self._who = who

    @property
    def counter(self) -> tuple[str, int, int]:
        return self._counter.key(self._who), self._counter.window_s, self._counter.amount

    def settle(self, count: int) -> None:
        self._settle()
        Admission.apply(self._call, self._counter.decision(count), self._tier, self._method_class)

    async def _resolve(self) -> None:
        """Counted on its own, for a call whose script did not run."""
        decision = await self._limiter.check(self._tier, self._method_class, self._head + self._who)
        Admission.apply(self._call, decision, self._tier, self._method_class)
