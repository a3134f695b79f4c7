"""The "attestations changed" flag between the write path and the trust job.

A Redis key rather than a table: setting it is one command after commit, and
losing it (Redis down) only delays recomputation until the job's fixed interval.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

DIRTY_KEY = "agentregistry:trust:dirty"


class TrustSignal:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def mark_dirty(self) -> None:
        try:
            await self._redis.set(DIRTY_KEY, b"1")
        except RedisError:
            log.warning("could not flag trust recomputation; the interval run will catch up")

    async def take(self) -> bool:
        """Clear the flag and say whether it was set; changes during a run set it again."""
        return bool(await self._redis.getdel(DIRTY_KEY))
