"""Readiness probe: one round trip through the pool."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def ping(engine: AsyncEngine) -> None:
    """Raise if Postgres cannot answer `SELECT 1` through a pooled connection."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
