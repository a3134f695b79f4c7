"""Async engine and session factory over psycopg 3."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import await_only

from db.breaker import NotAnswering
from db.deadlines import BoundedConnection, Deadlines

_PLAIN_SCHEMES = ("postgres://", "postgresql://")
SQLALCHEMY_SCHEME = "postgresql+psycopg://"


def sqlalchemy_url(url: str) -> str:
    """Accept the libpq spellings people put in DATABASE_URL and pin the psycopg 3 driver."""
    for scheme in _PLAIN_SCHEMES:
        if url.startswith(scheme):
            return SQLALCHEMY_SCHEME + url[len(scheme) :]
    return url


def libpq_url(url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix, for psycopg.connect or psql."""
    if url.startswith(SQLALCHEMY_SCHEME):
        return "postgresql://" + url[len(SQLALCHEMY_SCHEME) :]
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def with_database(url: str, database: str) -> str:
    """The URL of another database on the same server."""
    return (
        make_url(sqlalchemy_url(url)).set(database=database).render_as_string(hide_password=False)
    )


def create_engine(
    url: str, *, pool_size: int = 8, deadlines: Deadlines | None = None
) -> AsyncEngine:
    """One pooled engine per process.

    Pre-ping: each checkout first makes sure its connection is alive, so after a
    Postgres restart (or a connection dropped by a proxy) no call fails on a connection
    that died in the pool; a dead one is replaced before the call uses it. It costs one
    round trip per checkout, which the hottest reads skip (they run on db/point_reads.py
    or the cache).

    `deadlines` (the server's) bound the wait for a pooled connection, a new connection
    and every statement, so a stalled Postgres fails a call instead of hanging it
    (db/deadlines.py); the pre-ping is then the connection's own short-bounded `ping`,
    through the breaker. Without them (jobs, tools) only SQLAlchemy's defaults apply.
    """
    options: dict[str, Any] = {}
    if deadlines is not None:
        connect_args: dict[str, Any] = deadlines.connect_args(libpq_url(url))
        connect_args["async_creator_fn"] = deadlines.connection_class(libpq_url(url)).connect
        options = {"pool_timeout": deadlines.pool_timeout_s, "connect_args": connect_args}
    engine = _create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_pre_ping=deadlines is None,
        **options,
    )
    if deadlines is not None:
        event.listen(engine.sync_engine.pool, "checkout", _ping_on_checkout)
    return engine


def _ping_on_checkout(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """SQLAlchemy's pre-ping, on the bounded ping (SQLAlchemy's documented checkout-event
    form). A dead connection is replaced (DisconnectionError: the pool opens another);
    a refusal by the open breaker fails the call at once (SQLAlchemy drops that
    connection too; units of work are refused earlier, before checkout: db/uow.py)."""
    connection = dbapi_connection.driver_connection
    assert isinstance(connection, BoundedConnection)
    try:
        await_only(connection.ping())
    except NotAnswering:
        raise
    except Exception as error:
        if connection.closed:
            raise exc.DisconnectionError(str(error)) from error
        raise


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions keep loaded values after commit, so results can be converted after the UoW ends."""
    return async_sessionmaker(engine, expire_on_commit=False)
