"""The server's Postgres deadlines on real connections: a statement past its timeout is
cancelled by Postgres (the connection stays usable), options already in the URL stay, and
this process's own event loop held up by CPU work never reads as a silent Postgres."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from db.breaker import Breaker, NotAnswering
from db.deadlines import BoundedConnection, Deadlines
from db.engine import create_engine, libpq_url, session_factory
from db.uow import UnitOfWorkFactory


def _deadlines() -> Deadlines:
    return Deadlines(pool_timeout_s=5.0, connect_timeout_s=2, statement_timeout_s=0.2)


async def test_engine_statements_are_cancelled_past_the_timeout(database_url: str) -> None:
    deadlines = _deadlines()
    engine = create_engine(database_url, pool_size=1, deadlines=deadlines)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, BoundedConnection)  # replies bounded too
            with pytest.raises(sa_exc.OperationalError) as raised:
                await connection.execute(text("SELECT pg_sleep(5)"))
            assert isinstance(raised.value.orig, psycopg.errors.QueryCanceled)
            await connection.rollback()
            shown = await connection.execute(text("SHOW statement_timeout"))
            assert shown.scalar_one() == "200ms"
    finally:
        await engine.dispose()
        await deadlines.close()


async def test_url_options_are_kept_beside_the_statement_timeout(database_url: str) -> None:
    url = libpq_url(database_url)
    url += ("&" if "?" in url else "?") + "options=-c%20application_name%3Ddeadlines-test"
    deadlines = _deadlines()
    args = deadlines.connect_args(url)
    connection_class = deadlines.connection_class(url)
    try:
        async with await connection_class.connect(url, autocommit=True, **args) as connection:
            cursor = await connection.execute("SHOW application_name")
            assert await cursor.fetchone() == ("deadlines-test",)
            cursor = await connection.execute("SHOW statement_timeout")
            assert await cursor.fetchone() == ("200ms",)
    finally:
        await deadlines.close()


async def test_the_ping_bound_is_the_pings_alone(database_url: str) -> None:
    """A statement may take longer than a liveness ping's bound: only the ping is cut
    short; the statement waits on while Postgres answers the liveness probe, and an
    answered ping leaves the breaker closed."""
    deadlines = Deadlines(
        pool_timeout_s=5.0, connect_timeout_s=2, statement_timeout_s=5.0, ping_timeout_s=0.5
    )
    engine = create_engine(database_url, pool_size=1, deadlines=deadlines)
    try:
        for _ in range(2):  # the second checkout pings a pooled connection
            async with engine.connect() as connection:
                slept = await connection.execute(text("SELECT pg_sleep(1.5), 1"))
                assert slept.one()[1] == 1
        assert not deadlines.breaker.is_open
    finally:
        await engine.dispose()
        await deadlines.close()


async def test_a_unit_of_work_does_not_queue_for_a_connection_while_the_breaker_is_open(
    database_url: str,
) -> None:
    """Every connection held (as by statements on a silent server): with the breaker open
    a unit of work is refused at once, not left waiting for the pool's timeout (which
    would end in SQLAlchemy's TimeoutError instead)."""
    breaker = Breaker(cool_down_s=60.0)
    deadlines = Deadlines(
        pool_timeout_s=30.0, connect_timeout_s=2, statement_timeout_s=5.0, breaker=breaker
    )
    engine = create_engine(database_url, pool_size=1, deadlines=deadlines)
    uow = UnitOfWorkFactory(session_factory(engine), breaker.refuse_if_open)
    try:
        async with engine.connect(), engine.connect():  # the pool and its overflow
            breaker.silent()
            with pytest.raises(NotAnswering):
                async with uow() as work:
                    await work.session.execute(text("SELECT 1"))
        breaker.answered()
        async with uow() as work:
            assert (await work.session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
        await deadlines.close()


# The loop is held longer than every bound below: past a ping's and past a statement's
# reply bound (statement timeout plus margin), as a first import or a trust computation
# holds it.
STALL_S = 2.0
# More than a socket's buffer takes at once: read in several turns after the stall.
BIG_REPLY = "SELECT repeat('x', 150000)"


async def _held(loop: asyncio.AbstractEventLoop, waiting: asyncio.Future[object]) -> object:
    """`waiting`, with the loop held by a blocking callback once its exchange is sent (the
    task's first step sends it, the callback queued after that step runs next)."""
    loop.call_soon(time.sleep, STALL_S)
    return await waiting


async def test_a_held_event_loop_does_not_read_as_a_silent_postgres(database_url: str) -> None:
    """While this process's loop was held, Postgres answered: the checkout's ping and a
    statement whose reply sat unread past its bound both complete, and the breaker stays
    closed (before, the statement failed as "no reply" and opened it)."""
    deadlines = Deadlines(
        pool_timeout_s=5.0, connect_timeout_s=2, statement_timeout_s=0.2, ping_timeout_s=0.5
    )
    engine = create_engine(database_url, pool_size=1, deadlines=deadlines)
    loop = asyncio.get_running_loop()
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert isinstance(raw, BoundedConnection)
            await _held(loop, asyncio.ensure_future(raw.ping()))
            cursor = await _held(loop, asyncio.ensure_future(raw.execute(BIG_REPLY)))
            assert isinstance(cursor, psycopg.AsyncCursor)
            assert len((await cursor.fetchone() or ("",))[0]) == 150000
        assert not deadlines.breaker.is_open
        async with engine.connect() as connection:  # and the next checkout is let through
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
        await deadlines.close()
