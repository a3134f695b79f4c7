"""Async engine and session factory over psycopg 3."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

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


def create_engine(url: str, *, pool_size: int = 8) -> AsyncEngine:
    """One pooled engine per process.

    No pre-ping: it costs a round trip (and a transaction) on every checkout, which
    doubles the database work of a cheap read. After a Postgres restart the first
    query on a dead connection fails and SQLAlchemy invalidates the whole pool.
    """
    return _create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions keep loaded values after commit, so results can be converted after the UoW ends."""
    return async_sessionmaker(engine, expire_on_commit=False)
