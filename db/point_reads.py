"""Reads of one resource by primary key, on plain autocommit connections.

A unit of work opens an ORM session and a transaction: BEGIN, the read, ROLLBACK, three
round trips and the session's bookkeeping for one SELECT that needs no snapshot. These
reads are the misses of the hottest calls (GetAgent, GetReputation), so they skip all of
it, as search does (db.repositories.search.SearchReads).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db.repositories.agents import read_agent
from db.repositories.reputation import read_reputation
from server.domain.agents import Agent
from server.domain.attestations import Reputation


class PointReads:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def agent(self, agent_id: str) -> Agent | None:
        async with self._engine.connect() as conn:
            return await read_agent(conn, agent_id)

    async def reputation(self, agent_id: str) -> Reputation | None:
        """Its two statements may see two moments: a trust run commits standing and
        capability rows together, then retires cached reputations, so a response that
        mixes the two is not served past that run."""
        async with self._engine.connect() as conn:
            return await read_reputation(conn, agent_id)
