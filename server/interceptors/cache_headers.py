"""`cache-control` and `etag` on every unary response, as initial metadata.

HTTP edges (Envoy's transcoder, the built-in gateway) turn initial metadata
into response headers, so CDNs and browsers can cache public reads. Anonymous
calls to the public reads below get `public, max-age=N` matching the server's
own cache policy; everything else (writes, authenticated calls, errors) gets
`no-store`. The etag is the resource's own (AIP-154) when it has one, else a
hash of the response bytes, so `If-None-Match` can be answered with 304.

Only calls an HTTP edge marks (EDGE_MARKER) get them: for a native gRPC client
they mean nothing, and sending initial metadata apart from the response is one
more batch through gRPC core per call (~10% of a worker serving cached searches).
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from google.protobuf import message

from server.interceptors.wrapping import AroundInterceptor, Context, UnaryBehavior

NO_STORE = "no-store"
# Set by the HTTP edges on every call they make for an HTTP client: the built-in
# gateway, and Envoy's Lua filter on requests that are not already gRPC.
EDGE_MARKER = ("x-registry-edge", "http")
_CREDENTIALS = ("authorization", "x-api-key")

# Seconds a public read may be reused; mirrors the Redis cache TTLs (DESIGN.md).
PUBLIC_MAX_AGE_S: dict[str, int] = {
    "/agentregistry.v1.RegistryService/GetAgent": 300,
    "/agentregistry.v1.RegistryService/ListAgents": 60,
    "/agentregistry.v1.RegistryService/ListCapabilities": 3600,
    "/agentregistry.v1.RegistryService/GetCapability": 3600,
    "/agentregistry.v1.SearchService/SearchAgents": 60,
    "/agentregistry.v1.SearchService/SuggestAgents": 60,
    "/agentregistry.v1.SearchService/FindAgents": 60,
    "/agentregistry.v1.SearchService/ListCapabilityAgents": 60,
    "/agentregistry.v1.SearchService/GetRegistryStats": 60,
    "/agentregistry.v1.ReputationService/ListLeaderboard": 300,
    "/agentregistry.v1.ReputationService/GetReputation": 300,
}


def cache_control(method: str, metadata: Any) -> str:
    max_age = PUBLIC_MAX_AGE_S.get(method)
    if max_age is None or any(key in _CREDENTIALS for key, _ in metadata or ()):
        return NO_STORE
    return f"public, max-age={max_age}"


def etag_of(response: Any) -> str | None:
    """A strong entity tag (quoted, as HTTP wants it) for a response message."""
    if not isinstance(response, message.Message):
        return None
    own = getattr(response, "etag", None)
    if isinstance(own, str) and own:
        return f'"{own}"'
    digest = hashlib.sha256(response.SerializeToString(deterministic=True)).hexdigest()
    return f'"{digest[:16]}"'


class CacheHeadersInterceptor(AroundInterceptor):
    async def unary(
        self, method: str, behavior: UnaryBehavior, request: Any, context: Context
    ) -> Any:
        metadata = context.invocation_metadata() or ()
        if EDGE_MARKER not in metadata:
            return await behavior(request, context)
        try:
            response = await behavior(request, context)
        except Exception:
            with contextlib.suppress(Exception):  # the call may already be finished
                await context.send_initial_metadata((("cache-control", NO_STORE),))
            raise
        policy = cache_control(method, metadata)
        headers = [("cache-control", policy)]
        tag = etag_of(response) if method in PUBLIC_MAX_AGE_S else None
        if tag:
            headers.append(("etag", tag))
        await context.send_initial_metadata(headers)
        return response
