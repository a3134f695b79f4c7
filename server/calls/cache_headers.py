"""`cache-control` and `etag` on every unary response to an HTTP edge.

They join the response metadata (server/calls/call.py),
which Envoy's transcoder passes on as response headers, so CDNs and browsers
can cache public reads. Anonymous calls to the public reads below get
`public, max-age=N` matching the server's own cache policy, capped at one
heartbeat interval for reads that carry live presence; everything else
(writes, authenticated calls, errors) gets `no-store`. The etag hashes the
response bytes, live status included, so `If-None-Match` is answered with 304
only while the client's copy is still what we would send.

Only calls an HTTP edge marks (EDGE_MARKER) get them: for a native gRPC client
they mean nothing, and sending initial metadata apart from the response is one
more batch through gRPC core per call (~10% of a worker serving cached searches).
"""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf import message

NO_STORE = "no-store"
_REGISTRY = "/agentregistry.v1.RegistryService/"
_SEARCH = "/agentregistry.v1.SearchService/"

# Seconds a public read may be reused; mirrors the Redis cache TTLs (DESIGN.md).
PUBLIC_MAX_AGE_S: dict[str, int] = {
    _REGISTRY + "GetAgent": 300,
    _REGISTRY + "ListAgents": 60,
    _REGISTRY + "ListCapabilities": 3600,
    _REGISTRY + "GetCapability": 3600,
    _SEARCH + "SearchAgents": 60,
    _SEARCH + "SuggestAgents": 60,
    _SEARCH + "FindAgents": 60,
    _SEARCH + "ListCapabilityAgents": 60,
    _SEARCH + "GetRegistryStats": 60,
    "/agentregistry.v1.ReputationService/ListLeaderboard": 300,
    "/agentregistry.v1.ReputationService/GetReputation": 300,
    # Also /agents/{id}/.well-known/agent-card.json; the answer varies with A2A-Version
    # (Envoy adds `vary: A2A-Version` to HTTP responses).
    "/agentregistry.v1.AgentCardService/GetAgentCard": 60,
}
# Reads whose agents carry live presence (status, last seen) merged on every serve: a
# copy may not outlive one heartbeat interval, or an agent that came online still shows
# OFFLINE from a cache.
LIVE_PRESENCE = frozenset(
    {
        _REGISTRY + "GetAgent",
        _REGISTRY + "ListAgents",
        "/agentregistry.v1.AgentCardService/GetAgentCard",  # the registry extension's status
        _SEARCH + "SearchAgents",
        _SEARCH + "FindAgents",
        _SEARCH + "ListCapabilityAgents",
    }
)


def cache_control(method: str, credentialed: bool, live_max_age_s: int) -> str:
    """`credentialed`: the call carried `authorization` or `x-api-key`."""
    max_age = PUBLIC_MAX_AGE_S.get(method)
    if max_age is None or credentialed:
        return NO_STORE
    if method in LIVE_PRESENCE:
        max_age = min(max_age, live_max_age_s)
    return f"public, max-age={max_age}"


def etag_of(response: Any) -> str | None:
    """A strong entity tag (quoted, as HTTP wants it) of the whole representation.

    Not the resource's own AIP-154 etag: that one changes with stored writes only,
    while the response also carries live presence, so a 304 would keep serving an
    agent's old status."""
    if not isinstance(response, message.Message):
        return None
    digest = hashlib.sha256(response.SerializeToString(deterministic=True)).hexdigest()
    return f'"{digest[:16]}"'
