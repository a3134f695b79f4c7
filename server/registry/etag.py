"""Entity tags (AIP-154): a short hash that changes with every stored change."""

from __future__ import annotations

import hashlib

from server.domain.agents import Agent


def agent_etag(agent: Agent) -> str:
    seed = f"{agent.agent_id}:{agent.updated_at.isoformat()}:{agent.key_version}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]
