"""Batches the Redis writes of every stream in a process into one pipeline per tick.

A beat only lands in a dict (the latest per agent wins); at most every
`interval_s`, and only while something is queued, the whole dict goes to Redis
as one ZADD + one HSET + one SADD. Stream claims
and releases ride in the same pipeline, so opening or closing thousands of
streams costs a few round trips, not one each. Callers that need
read-your-writes (unary RPCs, a stream open waiting for its claim) await the
returned future; beats on a stream do not.
"""

from __future__ import annotations

import asyncio
import logging

from server.presence.store import PresenceStore, PresenceWrite
from server.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class BeatCoalescer:
    def __init__(self, store: PresenceStore, interval_s: float) -> None:
        self._store = store
        self._interval_s = interval_s
        self._pending: dict[str, PresenceWrite] = {}
        self._done: asyncio.Future[None] | None = None
        self._claims: list[tuple[str, str, asyncio.Future[str | None]]] = []
        self._releases: list[tuple[str, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._queued = asyncio.Event()
        self.flushed_writes = 0
        self.flushes = 0

    def submit(self, write: PresenceWrite) -> asyncio.Future[None]:
        """Queue a write; the future resolves once the batch holding it is in Redis."""
        self._pending[write.agent_id] = write
        self._queued.set()
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        return self._done

    def claim(self, agent_id: str, stream_id: str) -> asyncio.Future[str | None]:
        """Make `stream_id` the agent's live stream at the next tick; the future gives
        the stream it replaced, if any."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._claims.append((agent_id, stream_id, future))
        self._queued.set()
        return future

    def release(self, agent_id: str, stream_id: str) -> None:
        """Forget the agent's live stream at the next tick, if it is still this one."""
        self._releases.append((agent_id, stream_id))
        self._queued.set()

    def discard(self, agent_id: str) -> bool:
        """Drop a queued write (the agent was deleted); whether there was one."""
        return self._pending.pop(agent_id, None) is not None

    async def flush(self) -> None:
        if not self._pending and not self._claims and not self._releases:
            return
        writes, self._pending = list(self._pending.values()), {}
        claims, self._claims = self._claims, []
        releases, self._releases = self._releases, []
        done, self._done = self._done, None
        try:
            replaced = await self._store.write(writes, [(a, s) for a, s, _ in claims], releases)
        except Exception as error:
            log.exception("presence write of %d beats, %d claims failed", len(writes), len(claims))
            for future in [done, *(f for _, _, f in claims)]:
                if future is not None and not future.done():
                    future.set_exception(error)
                    future.exception()  # retrieved: stream callers never await it
            return
        self.flushes += 1
        self.flushed_writes += len(writes)
        if done is not None and not done.done():
            done.set_result(None)
        for (_, _, future), previous in zip(claims, replaced, strict=True):
            if not future.done():
                future.set_result(previous)

    async def _run(self) -> None:
        """Flushes on ticks `interval_s` apart, as a timer would, but sleeps through the
        ticks with nothing queued (an idle worker does not wake 20 times a second). What
        one call queues in a row (an offline beat, then its stream's release) still
        rides in one flush."""
        loop = asyncio.get_running_loop()
        while True:
            await self._queued.wait()
            await asyncio.sleep(self._interval_s - loop.time() % self._interval_s)
            self._queued.clear()
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="presence-coalescer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()
