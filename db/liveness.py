"""Whether Postgres answers at all, asked for a statement that has long waited for its reply.

A statement may legitimately run for seconds (up to statement_timeout), and while it runs
its connection is silent; a stalled server (stopped, frozen) is silent too, and waiting
out the statement's whole bound for it cost a call about six seconds. So a statement that
has heard nothing for a while (db/deadlines.py) asks here: a reply heard on any of the pool's
connections since then is an answer; otherwise one empty round trip on a connection of
the probe's own, one at a time and shared by every statement asking, within the ping's
bound. A statement on a stalled server thus gives up after about two ping bounds, and one
still running on a server that answers goes on.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import psycopg


class Probe(Protocol):
    @property
    def closed(self) -> bool: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class Liveness:
    def __init__(
        self, connect: Callable[[], Awaitable[Probe]], silent: type[BaseException]
    ) -> None:
        """`connect` opens the probe's connection; `silent` is what its ping raises when
        the server does not answer in time."""
        self._connect = connect
        self._silent = silent
        self._connection: Probe | None = None
        self._opening: asyncio.Future[Probe] | None = None
        self._asking: asyncio.Future[bool] | None = None
        self.heard_at = -math.inf

    def heard(self) -> None:
        """Postgres answered something just now (on any connection)."""
        self.heard_at = time.monotonic()

    def warm(self) -> None:
        """Open the probe's connection ahead of need: opening it only once a statement
        waits would, on a stalled server, cost that statement the connect timeout."""
        if self._connection is None and self._opening is None:
            task = asyncio.ensure_future(self._connected())
            task.add_done_callback(_quiet)

    async def answering(self, since: float) -> bool:
        """Has Postgres answered anything since `since` (time.monotonic()), or does it
        answer now? Concurrent askers share one probe."""
        if self.heard_at >= since:
            return True
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask())
            self._asking.add_done_callback(self._asked)
        return await asyncio.shield(self._asking)

    def _asked(self, asking: asyncio.Future[bool]) -> None:
        self._asking = None
        _quiet(asking)

    async def _ask(self) -> bool:
        """Silence is the only "no": a refusal or an error reply is the server answering,
        and a connection the probe finds dead is replaced once."""
        for attempt in range(2):
            try:
                connection = await self._connected()
                await connection.ping()
            except (self._silent, psycopg.errors.ConnectionTimeout):
                return False
            except psycopg.OperationalError:
                if attempt == 0 and self._connection is not None and self._connection.closed:
                    self._connection = None
                    continue
                return True
            self.heard()
            return True
        return True

    async def _connected(self) -> Probe:
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._connect())
        opening = self._opening
        try:
            connection = await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None
        self._connection = connection
        return connection

    async def close(self) -> None:
        if self._asking is not None:
            self._asking.cancel()
        opening, self._opening = self._opening, None
        # Already done (cancel() refuses): an open connection is closed below.
        done = opening is not None and not opening.cancel() and not opening.cancelled()
        if done and opening is not None and opening.exception() is None:
            self._connection = opening.result()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def _quiet(future: asyncio.Future[Any]) -> None:
    """A background open or probe whose failure its askers already heard (or nobody
    needs): retrieved, so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()
