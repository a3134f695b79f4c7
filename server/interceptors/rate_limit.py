"""Rate limits by principal: agent, else API key, else the trusted client address.

Every limited call carries `x-ratelimit-limit`, `x-ratelimit-remaining` and
`x-ratelimit-reset` (seconds); over budget it fails with RESOURCE_EXHAUSTED and
a google.rpc.RetryInfo saying when to come back.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from typing import Any

from server.auth import principal as principals
from server.auth.principal import Tier
from server.domain.errors import QuotaExceeded
from server.interceptors import response_metadata
from server.interceptors.wrapping import AroundInterceptor, Context, StreamBehavior, UnaryBehavior
from server.observability.metrics import RATE_LIMITED
from server.ratelimit.client_ip import Network, client_ip
from server.ratelimit.limiter import RateLimiter
from server.ratelimit.policy import classify


def _forwarded_for(context: Context) -> str | None:
    values = [str(v) for k, v in context.invocation_metadata() or () if k == "x-forwarded-for"]
    return ",".join(values) if values else None


def caller_address(context: Context, trusted_hops: int, trusted_proxies: Iterable[Network]) -> str:
    return client_ip(context.peer(), _forwarded_for(context), trusted_hops, trusted_proxies)


class RateLimitInterceptor(AroundInterceptor):
    def __init__(
        self, limiter: RateLimiter, trusted_hops: int, trusted_proxies: Iterable[Network]
    ) -> None:
        self._limiter = limiter
        self._trusted_hops = trusted_hops
        self._trusted_proxies = tuple(trusted_proxies)

    async def _admit(self, method: str, context: Context) -> None:
        method_class = classify(method)
        if method_class is None:
            return
        caller = principals.current()
        if caller is None:
            tier = Tier.ANONYMOUS
            key = "ip:" + caller_address(context, self._trusted_hops, self._trusted_proxies)
        elif caller.api_key_id is not None:
            tier, key = caller.tier, "key:" + caller.api_key_id
        else:
            tier, key = caller.tier, "agent:" + caller.agent_id
        decision = await self._limiter.check(tier, method_class, key)
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

    async def unary(
        self, method: str, behavior: UnaryBehavior, request: Any, context: Context
    ) -> Any:
        await self._admit(method, context)
        return await behavior(request, context)

    async def stream(
        self, method: str, behavior: StreamBehavior, request: Any, context: Context
    ) -> AsyncIterator[Any]:
        await self._admit(method, context)
        async for item in behavior(request, context):
            yield item
