"""The per-process background work of presence: the coalesced writer, one periodic
scan for silent streams and streams whose session or API key expired (not a timer per
stream), and the control channel that lets another process end a stream held here
(an operator's action, a newer stream, a revoked credential)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from redis.asyncio.client import PubSub

from server.presence.coalescer import BeatCoalescer
from server.presence.service import PresenceService
from server.presence.store import PresenceStore
from server.presence.streams import EndKind
from server.tasks import bounded, cancel_and_wait

log = logging.getLogger(__name__)

# Below this many held streams a full collection is short: nothing is frozen.
FREEZE_FROM_STREAMS = 2000

# Reconnects after a restart are spread over this many seconds.
RECONNECT_SPREAD_S = 10.0


class PresenceRuntime:
    def __init__(
        self,
        service: PresenceService,
        store: PresenceStore,
        coalescer: BeatCoalescer,
    ) -> None:
        self.service = service
        self._store = store
        self._coalescer = coalescer
        self._tasks: list[asyncio.Task[None]] = []
        self._pubsub: PubSub | None = None
        self._frozen_at = 0  # streams held at the last gc.freeze()

    async def start(self) -> None:
        self._coalescer.start()
        self._pubsub = self._store.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._store.control_channel)
        self._tasks = [
            asyncio.create_task(self._scan_silent(), name="presence-silence-scan"),
            asyncio.create_task(self._listen(self._pubsub), name="presence-control"),
        ]

    async def stop(self) -> None:
        """Streams are told to reconnect elsewhere, then pending beats are written.

        Each step is bounded: a background task or a Redis connection that does not
        finish in STOP_STEP_S is logged and left behind rather than holding the shutdown
        (and the pending beats) forever.
        """
        self.service.streams.drain("the server is restarting", RECONNECT_SPREAD_S)
        for task in self._tasks:
            await bounded(task.get_name(), cancel_and_wait(task))
        self._tasks = []
        if self._pubsub is not None:
            await bounded("control channel", self._pubsub.aclose())  # type: ignore[no-untyped-call]
            self._pubsub = None
        await self._coalescer.stop()
        self._store.close()

    async def _scan_silent(self) -> None:
        period = max(0.1, min(self.service.ttl_s / 4, 5.0))
        while True:
            await asyncio.sleep(period)
            ended = self.service.streams.end_silent(self.service.ttl_s)
            if ended:
                log.info("ended %d heartbeat streams silent past the TTL", ended)
            self._freeze_held()

    def _freeze_held(self) -> None:
        """Held streams (their calls, tasks and state) live for hours; each full collection
        walked all of them, about half a second per 15,000 streams on this machine class,
        and every ack waited it out. Once the streams grew by a quarter since the last time,
        what is alive now leaves the collector's view (gc.freeze: it is still freed by its
        reference count when a stream ends; only a cycle through it would stay)."""
        held = len(self.service.streams)
        if held >= max(FREEZE_FROM_STREAMS, self._frozen_at * 1.25):
            gc.freeze()
            self._frozen_at = held

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("presence control channel failed; resubscribing")
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(self._store.control_channel)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                agent_id, stream_id, kind = message["data"].decode().split(" ")
                self.service.end_stream(agent_id, stream_id, EndKind(kind))
            except ValueError:
                log.warning("ignoring malformed presence control message %r", message["data"])
