"""Every cache key in Redis, named in one place, under a schema version.

A cached value's encoding can change from one release to the next, and during a rolling
deploy both releases run against one Redis: value keys carry SCHEMA, so a process never
reads bytes the other release wrote (each fills its own copies, which expire by their
TTL). Bump SCHEMA with any change to what a cached value holds or how it is encoded.

Generations are not versioned: they are counters that every write bumps, and a write on
a process of either release must retire the copies of both.

Sessions, epochs and presence keep their own keys (server/auth/store.py,
server/presence/store.py): they are state rather than copies, read by both releases,
and a new name would end every session at a deploy.
"""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message

from server.method_policy import Generation, MethodPolicy

SCHEMA = 2  # 1: the unversioned keys before it (cache:agent:…, cache:response:…)
_VALUE = f"cache:v{SCHEMA}:"

AGENTS_GENERATION = "cache:gen:agents"
# Responses that also depend on stored status, by filtering or counting it: search and
# find with a status filter, registry statistics. Presence flushes that change a stored
# status bump only this one, so the many responses that merely show status (merged live
# on every serve) outlive them; every agent write bumps both (AGENTS_CHANGED).
STATUS_GENERATION = "cache:gen:agents:status"
AGENTS_CHANGED = (AGENTS_GENERATION, STATUS_GENERATION)
CATALOG_GENERATION = "cache:gen:capabilities"
LEADERBOARD_GENERATION = "cache:gen:leaderboard"  # bumped by the trust job after it writes
# Bumped once a trust run has committed everything it writes (cached reputations).
REPUTATION_GENERATION = "cache:gen:reputation"

_GENERATIONS = {
    Generation.AGENTS: AGENTS_GENERATION,
    Generation.AGENTS_STATUS: STATUS_GENERATION,
    Generation.CAPABILITIES: CATALOG_GENERATION,
    Generation.REPUTATION: REPUTATION_GENERATION,
    Generation.LEADERBOARD: LEADERBOARD_GENERATION,
}


def agent_generation(agent_id: str) -> str:
    return f"cache:gen:agent:{agent_id}"


def generations(policy: MethodPolicy, agent_id: str = "") -> tuple[str, ...]:
    """The keys of the generations `policy` declares; `agent_id` names the agent of an
    AGENT generation."""
    return tuple(
        agent_generation(agent_id) if kind is Generation.AGENT else _GENERATIONS[kind]
        for kind in policy.generations
    )


def capability(capability_id: str) -> str:
    return f"{_VALUE}capability:{capability_id}"


def capability_page(limit: int, page_token: str) -> str:
    return f"{_VALUE}capabilities:{limit}:{page_token}"


def response(kind: str, ident: str) -> str:
    """A serialized response (server/cache/responses.py) of one resource."""
    return f"{_VALUE}response:{kind}:{ident}"


def request_response(kind: str, request: Message) -> str:
    """A serialized response that depends on the whole request."""
    digest = hashlib.blake2b(request.SerializeToString(deterministic=True), digest_size=16)
    return response(kind, digest.hexdigest())
