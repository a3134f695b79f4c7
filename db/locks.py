"""Advisory-lock leases: how one job run happens once across scheduler instances.

A session-level lock lives on its own connection for the whole run, so a job
that commits several transactions keeps it, and a crashed holder's lock is
released by Postgres when its connection drops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@asynccontextmanager
async def try_advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Yield True while holding the lock named `name`; False (at once) if another holder has it."""
    async with engine.connect() as connection:
        acquired = (
            await connection.execute(
                text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))"), {"name": name}
            )
        ).scalar_one()
        await connection.commit()
        try:
            yield bool(acquired)
        finally:
            if acquired:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"), {"name": name}
                )
                await connection.commit()
