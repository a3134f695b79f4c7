"""Reads of one resource by primary key, on psycopg connections of their own small pool.

These reads are the misses of the hottest calls (GetAgent, GetReputation), and each is
one SELECT that needs no transaction and nothing SQLAlchemy adds: through its engine a
read cost about 450 µs of CPU (pool checkout and return, the connection and execution
context, the greenlet bridge, result processing), on psycopg directly about 145 µs. The
statements are the repositories' own, compiled to SQL once at import, so a row maps to
the same domain object (`to_agent`, `reputation_from`) either way.

The pool (psycopg_pool) holds autocommit connections with statements prepared on first
use. After a Postgres restart a dead connection fails its one call (UNAVAILABLE) and is
dropped; while Postgres is down a read waits at most CHECKOUT_TIMEOUT_S for a
connection, then fails UNAVAILABLE the same way.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.sql import ClauseElement

from db.engine import libpq_url
from db.repositories.agents import AGENT_BY_ID
from db.repositories.reputation import CAPABILITIES, STANDING, reputation_from
from db.repositories.rows import to_agent
from server.domain.agents import Agent
from server.domain.attestations import Reputation

CHECKOUT_TIMEOUT_S = 2.0


class _Compiled:
    """A statement as psycopg runs it: its SQL and the values of its literal parameters."""

    __slots__ = ("params", "sql")

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=psycopg_dialect.dialect())  # type: ignore[no-untyped-call]
        self.sql = str(compiled)
        self.params: dict[str, Any] = dict(compiled.params)

    def bind(self, **values: Any) -> dict[str, Any]:
        return {**self.params, **values}


_AGENT = _Compiled(AGENT_BY_ID)
_STANDING = _Compiled(STANDING)
_CAPABILITIES = _Compiled(CAPABILITIES)


class PointReads:
    def __init__(self, database_url: str, size: int) -> None:
        self._pool = AsyncConnectionPool(
            libpq_url(database_url),
            min_size=1,
            max_size=size,
            timeout=CHECKOUT_TIMEOUT_S,
            kwargs={"autocommit": True},
            open=False,
            name="point-reads",
        )

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def agent(self, agent_id: str) -> Agent | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=namedtuple_row)
            await cursor.execute(_AGENT.sql, _AGENT.bind(agent_id=agent_id), prepare=True)
            row = await cursor.fetchone()
        return None if row is None else to_agent(row)

    async def reputation(self, agent_id: str) -> Reputation | None:
        """Its two statements may see two moments: a trust run commits standing and
        capability rows together, then retires cached reputations, so a response that
        mixes the two is not served past that run."""
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=namedtuple_row)
            await cursor.execute(_STANDING.sql, _STANDING.bind(agent_id=agent_id), prepare=True)
            row = await cursor.fetchone()
            if row is None:
                return None
            params = _CAPABILITIES.bind(agent_id=agent_id)
            await cursor.execute(_CAPABILITIES.sql, params, prepare=True)
            capabilities = await cursor.fetchall()
        return reputation_from(agent_id, row, capabilities)
