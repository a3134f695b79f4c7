"""Batches the beats of every stream in a process into one Redis pipeline per tick.

A beat only lands in a dict (the latest per agent wins); every `interval_s`
the whole dict goes to Redis as one ZADD + one HSET + one SADD. Callers that
need read-your-writes (unary RPCs) await the returned future; streams do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.presence.store import PresenceStore, PresenceWrite

log = logging.getLogger(__name__)


class BeatCoalescer:
    def __init__(self, store: PresenceStore, interval_s: float) -> None:
        self._store = store
        self._interval_s = interval_s
        self._pending: dict[str, PresenceWrite] = {}
        self._done: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.flushed_writes = 0
        self.flushes = 0

    def submit(self, write: PresenceWrite) -> asyncio.Future[None]:
        """Queue a write; the future resolves once the batch holding it is in Redis."""
        self._pending[write.agent_id] = write
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        return self._done

    def discard(self, agent_id: str) -> None:
        """Drop a queued write (the agent was deleted)."""
        self._pending.pop(agent_id, None)

    async def flush(self) -> None:
        if not self._pending:
            return
        writes, self._pending = list(self._pending.values()), {}
        done, self._done = self._done, None
        try:
            await self._store.write(writes)
        except Exception as error:
            log.exception("presence write of %d beats failed", len(writes))
            if done is not None and not done.done():
                done.set_exception(error)
                done.exception()  # retrieved: stream callers never await it
            return
        self.flushes += 1
        self.flushed_writes += len(writes)
        if done is not None and not done.done():
            done.set_result(None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="presence-coalescer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
