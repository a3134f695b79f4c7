"""A wake-up for outbox followers: Postgres NOTIFY at each commit that wrote events.

Writers add `pg_notify(CHANNEL, '')` to the statement that inserts events; Postgres
delivers it when (and only if) the transaction commits, once per transaction. The
followers (each worker's outbox follower, the scheduler's outbox jobs) wait on a
LISTEN connection instead of polling every fraction of a second: an idle registry
issues no query until something is written.

A notification says "look now", never what to read: the reader still reads the
settled range (db/repositories/outbox_reader.py). A lost notification (the listening
connection dropped, a writer that does not notify) only delays the read until the
waiter's fallback timeout, and while the connection is down the wait degrades to the
old polling interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import psycopg
from sqlalchemy import func, text

from db.engine import libpq_url

log = logging.getLogger(__name__)

CHANNEL = "agentregistry_outbox"
_CONNECT_TIMEOUT_S = 2

# For an INSERT … RETURNING into events; NOTIFYs of one transaction fold into one.
notify_column = func.pg_notify(CHANNEL, "")
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


class OutboxListener:
    """One LISTEN connection of this process; `wait` returns at a commit that wrote
    events, or after its timeout."""

    def __init__(self, database_url: str, *, retry_s: float) -> None:
        self._url = libpq_url(database_url)
        self._retry_s = retry_s
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def _listening(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            connection = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
            )
            await connection.execute(f"LISTEN {CHANNEL}")
            self._connection = connection
        return self._connection

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.closed

    async def listen(self) -> None:
        """Start listening now, so that the first `wait` already waits; a failure is left
        for `wait` to retry."""
        try:
            await asyncio.wait_for(self._listening(), _CONNECT_TIMEOUT_S * 2)
        except (psycopg.Error, OSError, TimeoutError) as error:
            log.debug("outbox listener unavailable (%s)", error)
            await self.close()

    async def wait(self, timeout_s: float) -> bool:
        """True when woken by a commit, False after `timeout_s`. Right after it starts
        listening (the first call, or after the connection dropped) it returns True at
        once: a commit just before LISTEN sent nothing it could hear, so the caller
        looks now. Without a working connection, False after the shorter `retry_s`
        (the caller polls meanwhile)."""
        try:
            if not self.listening:
                await asyncio.wait_for(self._listening(), _CONNECT_TIMEOUT_S * 2)
                return True
            connection = await self._listening()
            deadline = time.monotonic() + timeout_s
            while True:
                if await _received(connection):
                    return True
                # Anything else the server sent (a parameter status) is read and dropped.
                left = deadline - time.monotonic()
                if left <= 0 or not await _readable(connection.pgconn.socket, left):
                    return False
        except (psycopg.Error, OSError, TimeoutError) as error:
            log.debug("outbox listener unavailable (%s); polling", error)
            await self.close()
            await asyncio.sleep(min(timeout_s, self._retry_s))
            return False

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await connection.close()


async def _received(connection: psycopg.AsyncConnection[tuple[object, ...]]) -> bool:
    """Whether a notification has arrived, reading only what the socket already holds."""
    async for _ in connection.notifies(timeout=0.0, stop_after=1):
        return True
    return False


async def _readable(fileno: int, timeout_s: float) -> bool:
    """Wait until the socket has something to read (True) or `timeout_s` passes (False).
    psycopg's own wait wakes every 100 ms to check for interrupts: ten wake-ups a second
    on every idle process, which is what this wait is here to end."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fileno, wake)
    try:
        await asyncio.wait_for(ready, timeout_s)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fileno)
