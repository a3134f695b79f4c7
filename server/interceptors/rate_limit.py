"""Rate limits by principal: agent, else API key, else the trusted client address.

Every limited call carries `x-ratelimit-limit`, `x-ratelimit-remaining` and
`x-ratelimit-reset` (seconds); over budget it fails with RESOURCE_EXHAUSTED and
a google.rpc.RetryInfo saying when to come back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from server.auth.principal import Principal, Tier
from server.domain.errors import QuotaExceeded
from server.interceptors import response_metadata
from server.observability.metrics import RATE_LIMITED
from server.ratelimit.client_ip import Network, client_ip
from server.ratelimit.limiter import Decision, RateLimiter
from server.ratelimit.policy import MethodClass

if TYPE_CHECKING:
    from server.interceptors.call import CallHeaders


def caller_address(
    context: Any, headers: CallHeaders, trusted_hops: int, trusted_proxies: Iterable[Network]
) -> str:
    return client_ip(context.peer(), headers.forwarded_for, trusted_hops, trusted_proxies)


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
        if caller is None:
            tier = Tier.ANONYMOUS
            address = caller_address(context, headers, self._trusted_hops, self._trusted_proxies)
            key = "ip:" + address
        elif caller.api_key_id is not None:
            tier, key = caller.tier, "key:" + caller.api_key_id
        else:
            tier, key = caller.tier, "agent:" + caller.agent_id
        self.apply(await self._limiter.check(tier, method_class, key), tier, method_class)

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
            raise QuotaExceeded(
                f"rate limit of {decision.limit} {method_class} calls exceeded for {tier}",
                retry_after_s=max(decision.reset_after_s, 0.001),
            )
