"""Seed groups from a keyed hash of agent ids.

Groups bound what the seeds of one group can confer, so who lands together must be
out of everyone's hands: ids are public and chosen at registration, so grouping by id
order (or an unkeyed hash) would let an attacker grind ids into one group. An HMAC with
a server secret cannot be aimed, and an agent's group never changes as others come and go.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

from server.trust.graph import IntArray


def seed_groups(agent_ids: list[str], secret: bytes, groups: int) -> IntArray:
    key = hmac.new(secret, digestmod=hashlib.sha256)
    buckets = np.empty(len(agent_ids), dtype=np.int64)
    for index, agent_id in enumerate(agent_ids):
        digest = key.copy()
        digest.update(agent_id.encode())
        buckets[index] = int.from_bytes(digest.digest()[:8], "big") % groups
    return buckets
