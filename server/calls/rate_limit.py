"""Rate limits by principal: agent, else API key, else the trusted client address.

Every limited call carries `x-ratelimit-limit`, `x-ratelimit-remaining` and
`x-ratelimit-reset` (seconds); over budget it fails with RESOURCE_EXHAUSTED and
a google.rpc.RetryInfo saying when to come back.

A cached read counts the call inside its lookup script (PendingCount, one round trip
instead of two); the script refuses before it reads anything, so a spent budget still
costs the registry nothing but the count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from server.auth.principal import Principal, Tier
from server.calls import deferred, response_metadata
from server.domain import refusals
from server.observability.metrics import RATE_LIMITED
from server.ratelimit.client_ip import Network, client_ip
from server.ratelimit.limiter import Decision, RateLimiter, SharedCounter
from server.ratelimit.policy import MethodClass

if TYPE_CHECKING:
    from server.calls.call import CallHeaders


def caller_address(
    context: Any, headers: CallHeaders, trusted_hops: int, trusted_proxies: Iterable[Network]
) -> str:
    return client_ip(context.peer(), headers.forwarded_for, trusted_hops, trusted_proxies)


class CallerKeys:
    """The key the limiter counts a caller under (`agent:`, `key:` or `ip:` + whose), for
    limits kept elsewhere (open watches, server/events/watch.py)."""

    def __init__(self, trusted_hops: int, trusted_proxies: Iterable[Network]) -> None:
        self._trusted_hops = trusted_hops
        self._trusted_proxies = tuple(trusted_proxies)

    def of(self, caller: Principal | None, context: Any) -> str:
        if caller is None:
            forwarded = [
                str(value)
                for name, value in context.invocation_metadata() or ()
                if name == "x-forwarded-for"
            ]
            address = client_ip(
                context.peer(),
                ",".join(forwarded) or None,
                self._trusted_hops,
                self._trusted_proxies,
            )
            return "ip:" + address
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

    async def admit(
        self,
        method_class: MethodClass,
        caller: Principal | None,
        headers: CallHeaders,
        context: Any,
    ) -> None:
        tier, head, who = self._budget_key(caller, headers, context)
        decision = await self._limiter.check(tier, method_class, head + who)
        self.apply(decision, tier, method_class)

    def defer(
        self,
        method_class: MethodClass,
        caller: Principal | None,
        headers: CallHeaders,
        context: Any,
    ) -> PendingCount | None:
        """The call's count, now the call's deferred check for the handler's script
        (server/calls/deferred.py); None while the shared store is down (the
        caller then `admit`s)."""
        tier, head, who = self._budget_key(caller, headers, context)
        counter = self._limiter.shared_counter(tier, method_class, head)
        if counter is None:
            return None
        pending = PendingCount(self._limiter, counter, tier, method_class, head, who)
        deferred.begin(pending)
        return pending

    def _budget_key(
        self, caller: Principal | None, headers: CallHeaders, context: Any
    ) -> tuple[Tier, str, str]:
        """(tier, kind of key, whose): the budget's key is kind + whose."""
        if caller is None:
            address = caller_address(context, headers, self._trusted_hops, self._trusted_proxies)
            return Tier.ANONYMOUS, "ip:", address
        if caller.api_key_id is not None:
            return caller.tier, "key:", caller.api_key_id
        return caller.tier, "agent:", caller.agent_id

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter

    @staticmethod
    def apply(decision: Decision, tier: Tier, method_class: MethodClass) -> None:
        """The decision's response headers; over budget, RESOURCE_EXHAUSTED with RetryInfo."""
        reset = math.ceil(decision.reset_after_s)
        response_metadata.add("x-ratelimit-limit", str(decision.limit))
        response_metadata.add("x-ratelimit-remaining", str(decision.remaining))
        response_metadata.add("x-ratelimit-reset", str(reset))
        if not decision.allowed:
            RATE_LIMITED.labels(tier, method_class).inc()
            raise refusals.rate_limited(
                decision.limit, str(tier), str(method_class), decision.reset_after_s
            )


class PendingCount:
    """A call's budget count, left to the handler's lookup script (server/cache/responses.py)."""

    __slots__ = ("_head", "_limiter", "counter", "method_class", "settled", "taken", "tier", "who")

    def __init__(
        self,
        limiter: RateLimiter,
        counter: SharedCounter,
        tier: Tier,
        method_class: MethodClass,
        head: str,
        who: str,
    ) -> None:
        self._limiter = limiter
        self._head = head
        self.counter = counter
        self.tier = tier
        self.method_class = method_class
        self.who = who
        self.taken = False
        self.settled = False

    @property
    def key(self) -> str:
        """The shared counter's Redis key."""
        return self.counter.key(self.who)

    def settle(self, count: int) -> None:
        """The script's count: the response headers, or RESOURCE_EXHAUSTED."""
        self.settled = True
        Admission.apply(self.counter.decision(count), self.tier, self.method_class)

    async def resolve(self) -> None:
        """Counted on its own, for a call whose script did not run."""
        self.settled = True
        decision = await self._limiter.check(self.tier, self.method_class, self._head + self.who)
        Admission.apply(decision, self.tier, self.method_class)
