"""Reads of one resource by primary key, on psycopg connections of their own small pool.

These reads are the misses of the hottest calls (GetAgent, GetReputation), and each is
one SELECT that needs no transaction and nothing SQLAlchemy adds: through its engine a
read cost about 450 µs of CPU (pool checkout and return, the connection and execution
context, the greenlet bridge, result processing), on psycopg directly about 145 µs. The
statements are the repositories' own, compiled to SQL once at import, so a row maps to
the same domain object (`to_agent`, `reputation_from`) either way.

Agents are read in batches, one batch in flight per process: what is asked for while a
batch is out leaves as the next one statement (`id = ANY(…)`), and each caller gets its
own row. A read that finds none in flight waits only for the end of its loop iteration;
under load the batch grows with the load (for eight agents one statement costs the
worker a fifth of eight statements' CPU per agent, and Postgres a quarter of the time).
Serving GetAgent with its cache off on 2 workers, batches averaged 1.6 agents, and the
workers' CPU per call fell by about a seventh.

The pool (psycopg_pool) holds autocommit connections with statements prepared on first
use, and each is checked as it is handed out (an empty round trip): after a Postgres
restart a connection that died in the pool is replaced before a read uses it, so no call
fails on one. While Postgres is down a batch waits at most CHECKOUT_TIMEOUT_S (or the
server's pool timeout) for a connection, then fails UNAVAILABLE (a read queued behind
it, twice that). With the server's deadlines the connections are db/deadlines.py's and
the check is their short-bounded `ping`, done here rather than as the pool's `check`
(whose loop would keep a read trying other connections for its whole pool timeout):
a stalled Postgres fails a read within the ping's bound, and at once while the breaker
is open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.sql import ClauseElement

from db.deadlines import BoundedConnection, Deadlines
from db.engine import libpq_url
from db.repositories.agents import AGENTS_BY_IDS
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


_AGENTS = _Compiled(AGENTS_BY_IDS)
_STANDING = _Compiled(STANDING)
_CAPABILITIES = _Compiled(CAPABILITIES)


def _unanswered(
    wanted: dict[str, list[asyncio.Future[Agent | None]]],
) -> list[asyncio.Future[Agent | None]]:
    """The waiters still waiting: a caller that gave up has a cancelled future."""
    return [future for futures in wanted.values() for future in futures if not future.done()]


class PointReads:
    def __init__(self, database_url: str, size: int, deadlines: Deadlines | None = None) -> None:
        url = libpq_url(database_url)
        options: dict[str, Any] = {"autocommit": True}
        connection_class: type[AsyncConnection[Any]] = AsyncConnection
        self._deadlines = deadlines
        if deadlines is not None:
            options.update(deadlines.connect_args(url))
            connection_class = deadlines.connection_class(url)
        self._size = size
        self._pool = AsyncConnectionPool(
            url,
            connection_class=connection_class,
            min_size=1,
            max_size=size,
            timeout=CHECKOUT_TIMEOUT_S if deadlines is None else deadlines.pool_timeout_s,
            kwargs=options,
            check=AsyncConnectionPool.check_connection if deadlines is None else None,
            open=False,
            name="point-reads",
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wanted: dict[str, list[asyncio.Future[Agent | None]]] = {}  # the next batch
        self._batch: asyncio.Task[None] | None = None  # the one in flight

    async def open(self) -> None:
        # Kept: asyncio.get_running_loop() is a getpid() system call per read on 3.11.
        self._loop = asyncio.get_running_loop()
        await self._pool.open()

    async def close(self) -> None:
        if self._batch is not None:
            await asyncio.wait([self._batch])
        await self._pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection, pinged first under the server's deadlines; a dead one is
        put back (the pool drops it) and the next tried, a silent server ends the read."""
        if self._deadlines is None:
            async with self._pool.connection() as conn:
                yield conn
            return
        for _ in range(self._size + 1):  # each dead connection leaves the pool
            self._deadlines.breaker.refuse_if_open()
            conn = await self._pool.getconn()
            assert isinstance(conn, BoundedConnection)
            try:
                await conn.ping()
            except psycopg.OperationalError:
                await self._pool.putconn(conn)
                if conn.closed and not self._deadlines.breaker.is_open:
                    continue
                raise
            except BaseException:
                await self._pool.putconn(conn)
                raise
            try:
                yield conn
            finally:
                await self._pool.putconn(conn)
            return
        raise psycopg.OperationalError("no live connection to Postgres")

    async def agent(self, agent_id: str) -> Agent | None:
        loop = self._loop
        assert loop is not None, "PointReads.open() first"
        future: asyncio.Future[Agent | None] = loop.create_future()
        if not self._wanted and self._batch is None:
            loop.call_soon(self._send_batch)
        self._wanted.setdefault(agent_id, []).append(future)
        return await future

    def _send_batch(self, finished: asyncio.Task[None] | None = None) -> None:
        """Also run when the batch in flight ends: what was asked for meanwhile leaves."""
        self._batch = None
        if not self._wanted:
            return
        wanted, self._wanted = self._wanted, {}
        assert self._loop is not None
        self._batch = self._loop.create_task(self._read_agents(wanted))
        self._batch.add_done_callback(self._send_batch)

    async def _read_agents(self, wanted: dict[str, list[asyncio.Future[Agent | None]]]) -> None:
        """Every waiter gets its agent (None when there is none), or the batch's error."""
        try:
            async with self._connection() as conn:
                cursor = conn.cursor(row_factory=namedtuple_row)
                await cursor.execute(
                    _AGENTS.sql, _AGENTS.bind(agent_ids=list(wanted)), prepare=True
                )
                rows: list[Any] = await cursor.fetchall()
        except Exception as error:
            for future in _unanswered(wanted):
                future.set_exception(error)
            return
        except asyncio.CancelledError:  # shutting down: nobody is left to answer them
            for future in _unanswered(wanted):
                future.cancel()
            raise
        found = {row.id: row for row in rows}
        for agent_id, futures in wanted.items():
            row = found.get(agent_id)
            agent = None if row is None else to_agent(row)
            for future in futures:
                if not future.done():  # its caller may have given up
                    future.set_result(agent)

    async def reputation(self, agent_id: str) -> Reputation | None:
        """Its two statements may see two moments: a trust run commits standing and
        capability rows together, then retires cached reputations, so a response that
        mixes the two is not served past that run."""
        async with self._connection() as conn:
            cursor = conn.cursor(row_factory=namedtuple_row)
            await cursor.execute(_STANDING.sql, _STANDING.bind(agent_id=agent_id), prepare=True)
            row = await cursor.fetchone()
            if row is None:
                return None
            params = _CAPABILITIES.bind(agent_id=agent_id)
            await cursor.execute(_CAPABILITIES.sql, params, prepare=True)
            capabilities = await cursor.fetchall()
        return reputation_from(agent_id, row, capabilities)
