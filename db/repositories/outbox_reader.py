"""Reading the outbox without skipping events that commit out of id order.

Event ids are handed out when a row is inserted, not when its transaction commits,
so a reader can see id N+1 while N is still in flight; a consumer that moved its
position past N would never see it. We read ids above a position and trust the
contiguous prefix at once (nothing can be missing inside it). Past the first gap we
wait until every writer that could hold a missing id has ended; then each missing
id is either committed and visible, or rolled back and gone for good, so one
re-read gives a settled range.

Which writers: every transaction that took an event id before our read. The id
default (`events_next_id()`, migration 0008) assigns the writer's transaction id
*before* its event id, so all of them hold a transaction id older than a *fence*:
a transaction id we take and commit after the read, on a connection of our own.
We wait until `pg_snapshot_xmin` of a fresh snapshot passes the fence. A
snapshot's own `xmax` is no fence: it is one past the newest *finished*
transaction, and a writer that took its transaction id later than that, but its
event id earlier than a committed one, would be missed.

The wait must not run inside a transaction that has written (it would wait for
itself), so consumers settle first and write after. A writing transaction that
runs for long holds the feed back up to `max_wait_s` per call; read-only
transactions have no transaction id and never do.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import EventRow

_FENCE = text("SELECT pg_current_xact_id()::text::bigint")
_XMIN = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


class OutboxReader:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def latest_id(self) -> int:
        """The highest committed event id (0 when empty): "from now on" starts here."""
        query = select(EventRow.id).order_by(EventRow.id.desc()).limit(1)
        return int((await self._session.execute(query)).scalar_one_or_none() or 0)

    async def _ids_after(self, position: int, limit: int) -> list[int]:
        query = select(EventRow.id).where(EventRow.id > position)
        query = query.order_by(EventRow.id).limit(limit)
        return list((await self._session.scalars(query)).all())

    async def _fence(self) -> int:
        """A transaction id newer than any a writer holds now, taken and committed apart
        from the reading transaction (which must stay without one)."""
        engine = self._session.bind
        if not isinstance(engine, AsyncEngine):
            raise TypeError("the outbox reader needs a session bound to an engine")
        async with engine.connect() as connection:
            fence = int((await connection.execute(_FENCE)).scalar_one())
            await connection.commit()
        return fence

    async def settled_after(
        self, position: int, limit: int, *, max_wait_s: float = 2.0
    ) -> tuple[int, int]:
        """(position + 1, last): a settled range above `position`; (0, position) if none yet.

        Every committed event with position < id <= last is visible to a later read,
        and none will appear there afterwards: the caller may move to `last`. The
        range starts right above `position`, not at the lowest id this read saw: the
        wait may have let a lower one commit.
        """
        ids = await self._ids_after(position, limit)
        if not ids:
            return 0, position
        prefix = 0
        while prefix < len(ids) and ids[prefix] == position + prefix + 1:
            prefix += 1
        if prefix == len(ids):
            return position + 1, ids[-1]
        if not await self._outlive_writers(max_wait_s):
            return (position + 1, ids[prefix - 1]) if prefix else (0, position)
        # Everything up to ids[-1] is now final; the gaps that remain are rollbacks.
        return position + 1, ids[-1]

    async def settled_latest(self, *, max_wait_s: float) -> int | None:
        """The highest committed id, once every writer that could hold a lower one has
        ended: where "from now on" starts without a gap. None if one still runs after
        `max_wait_s`."""
        latest = await self.latest_id()
        return latest if await self._outlive_writers(max_wait_s) else None

    async def _outlive_writers(self, max_wait_s: float) -> bool:
        """Waits until every transaction that holds an event id now has ended; False if
        one still runs after `max_wait_s`."""
        fence = await self._fence()
        deadline = time.monotonic() + max_wait_s
        while int((await self._session.execute(_XMIN)).scalar_one()) <= fence:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True
