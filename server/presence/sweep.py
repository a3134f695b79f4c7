"""The stale sweep: agents whose last beat is older than the TTL become offline.

Found by a range query on the last-seen sorted set, so a pass costs what
expires, not the registry size. Self-preservation (as Eureka does it): when an
abnormal share of the present agents would expire in one pass, the cause is
more likely on our side (a Redis failover, a partition, a stalled server) than
theirs, so at most that share expires per pass and the pass says so.

A pass only touches Redis, the source of truth for presence: one script marks
the expired agents offline and adds them to the dirty set, and the periodic
flush carries them to Postgres with their AGENT_STATUS_CHANGED events in the
same bulk statement it already runs. Writing Postgres here as well would put
thousands of row updates (every index of `agents`) into each pass.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from server.presence.store import PresenceStore

log = logging.getLogger(__name__)

_MAX_PER_PASS = 100_000


async def sweep(
    store: PresenceStore,
    *,
    ttl_s: float,
    ratio: float,
    min_agents: int,
    now: float | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    cutoff = (time.time() if now is None else now) - ttl_s
    present = await store.present_count()
    due = await store.count_older_than(cutoff)
    allowed = min(due, _MAX_PER_PASS)
    held_back = 0
    if present >= min_agents and due > ratio * present:
        allowed = min(allowed, math.floor(ratio * present))
        held_back = due - allowed
        log.warning(
            "presence self-preservation: %d of %d present agents (%.0f%%) are past the TTL, "
            "over the %.0f%% limit; expiring %d this pass, holding back %d",
            due,
            present,
            100 * due / present,
            100 * ratio,
            allowed,
            held_back,
        )
    expired = await store.expire(cutoff, allowed)
    return {
        "present": present,
        "due": due,
        "expired": expired,
        "held_back": held_back,
        "self_preservation": held_back > 0,
        "duration_s": round(time.perf_counter() - started, 4),
    }
