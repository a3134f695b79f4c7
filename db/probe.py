"""Readiness probe: one round trip through the pool."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.deadlines import BoundedConnection


async def ping(engine: AsyncEngine) -> None:
    """Raise if Postgres cannot answer through a pooled connection. Under the server's
    deadlines the checkout's own bounded ping is the answer (and the breaker's verdict):
    no statement is left for the caller's timeout to cancel, which on a silent server
    would wait out psycopg's cancel sequence."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        if isinstance(raw.driver_connection, BoundedConnection):
            return
        await connection.execute(text("SELECT 1"))
