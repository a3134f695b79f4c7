# ruff: noqa: ASYNC110  (a parked stream of a silenced agent just sleeps)
"""Load generator for the heartbeat bench: one process holding many streams over many channels.

Driven by JSON lines on stdin, answering JSON lines on stdout:
  {"cmd": "open"}                                  open every stream (first beat acked)
  {"cmd": "phase", "interval": s, "duration": s, "silence": k}
                                                    beat at `interval` for `duration`; the
                                                    first k streams stop beating at once
  {"cmd": "quit"}
Each stream is a ping-pong of beat and ack, so an ack's latency is measured
from the moment its beat was handed to gRPC.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import time
from typing import Any

import grpc
import uvloop
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import presence_service_pb2_grpc

_CHANNEL_OPTIONS = [
    ("grpc.use_local_subchannel_pool", 1),  # a TCP connection per channel, not one shared
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.http2.max_pings_without_data", 0),
]


OPEN_TIMEOUT_S = 30.0


class State:
    def __init__(self) -> None:
        self.interval = 30.0
        # One event per waiting stream: thousands of waiters on one shared Event cost a
        # linear removal from its waiter list at every beat that times out.
        self.wakers: dict[int, asyncio.Event] = {}
        self.latencies: list[float] = []
        self.acks = 0
        self.errors: dict[str, int] = {}
        self.open_errors: dict[str, int] = {}
        self.silenced: set[int] = set()
        self.last_beat: dict[int, float] = {}

    async def change(self, interval: float) -> None:
        """Wake the streams to take up the new interval in batches: all at once, tens of
        thousands of tasks would stall this loop, and acks read meanwhile look late."""
        self.interval = interval
        for count, waker in enumerate(list(self.wakers.values()), 1):
            waker.set()
            if count % 500 == 0:
                await asyncio.sleep(0.01)


async def run_stream(
    index: int,
    token: str,
    stub: presence_service_pb2_grpc.PresenceServiceStub,
    state: State,
    opened: asyncio.Future[bool],
) -> None:
    """A stream that failed to open is retried twice after a jittered pause, as agents do."""
    for attempt in range(3):
        await hold_stream(index, token, stub, state, opened, last_try=attempt == 2)
        if opened.done():
            return
        await asyncio.sleep(random.uniform(1.0, 5.0))


async def hold_stream(
    index: int,
    token: str,
    stub: presence_service_pb2_grpc.PresenceServiceStub,
    state: State,
    opened: asyncio.Future[bool],
    last_try: bool,
) -> None:
    # write()/read() on the call, not a request generator: no consumer task per stream, and
    # nothing left running to be finalized ("aclose(): ... already running") when it ends.
    call = stub.Heartbeat(metadata=(("authorization", f"Bearer {token}"),))
    sequence = 0
    try:
        while True:
            sequence += 1
            sent = time.perf_counter()
            if opened.done():
                await call.write(pb.HeartbeatRequest(sequence=sequence, load=0.1))
                response = await call.read()
            else:
                async with asyncio.timeout(OPEN_TIMEOUT_S):  # a stuck open is retried
                    await call.write(pb.HeartbeatRequest(sequence=sequence, load=0.1))
                    response = await call.read()
            if response is grpc.aio.EOF:
                raise RuntimeError("stream ended")
            state.last_beat[index] = time.time()
            if not opened.done():
                opened.set_result(True)
            else:
                state.latencies.append(time.perf_counter() - sent)
                state.acks += 1
            waker = state.wakers.setdefault(index, asyncio.Event())
            delay = random.uniform(0, state.interval) if sequence == 1 else state.interval
            while True:
                try:
                    async with asyncio.timeout(delay):
                        await waker.wait()
                    waker.clear()  # a new phase: its interval, from a random offset
                    delay = random.uniform(0, state.interval)
                except TimeoutError:
                    break
            while index in state.silenced:
                await asyncio.sleep(3600)
    except asyncio.CancelledError:
        call.cancel()
        raise
    except Exception as error:
        call.cancel()  # a stuck open, or a no-op on an ended call
        code = (
            error.code().name if isinstance(error, grpc.aio.AioRpcError) else type(error).__name__
        )
        if not opened.done():
            if not last_try:  # the caller retries it
                state.open_errors[code] = state.open_errors.get(code, 0) + 1
                return
            opened.set_result(False)
        if index not in state.silenced:
            state.errors[code] = state.errors.get(code, 0) + 1


async def main(target: str, tokens: list[str], channel_count: int, open_concurrency: int) -> None:
    state = State()
    channels = [
        grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS) for _ in range(channel_count)
    ]
    stubs = [presence_service_pb2_grpc.PresenceServiceStub(c) for c in channels]
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "open":
            started = time.perf_counter()
            gate = asyncio.Semaphore(open_concurrency)
            outcomes: list[asyncio.Future[bool]] = []

            async def open_one(
                i: int,
                gate: asyncio.Semaphore = gate,
                outcomes: list[asyncio.Future[bool]] = outcomes,
            ) -> None:
                async with gate:
                    future: asyncio.Future[bool] = loop.create_future()
                    outcomes.append(future)
                    tasks.append(
                        asyncio.create_task(
                            run_stream(i, tokens[i], stubs[i % channel_count], state, future)
                        )
                    )
                    await future

            # Bounded: whatever has not opened by the deadline counts as failed.
            await asyncio.wait(
                [asyncio.ensure_future(open_one(i)) for i in range(len(tokens))],
                timeout=float(command.get("deadline_s", 300.0)),
            )
            ok = sum(1 for f in outcomes if f.done() and f.result())
            gc.collect()
            gc.freeze()  # the held streams leave the collector's view: no full-heap pauses
            reply(
                {
                    "opened": ok,
                    "failed": len(tokens) - ok,
                    "open_s": time.perf_counter() - started,
                    "errors": dict(state.errors),
                    "open_errors": dict(state.open_errors),
                }
            )
        elif command["cmd"] == "phase":
            state.latencies, state.acks, state.errors = [], 0, {}
            silence = int(command.get("silence", 0))
            state.silenced = set(range(silence))
            started = time.perf_counter()
            await state.change(float(command["interval"]))
            await asyncio.sleep(float(command["duration"]))
            elapsed = time.perf_counter() - started
            reply(
                {
                    "acks": state.acks,
                    "elapsed_s": elapsed,
                    "latencies_ms": [round(x * 1000, 2) for x in state.latencies],
                    "errors": dict(state.errors),
                    "silenced_last_beat": {
                        str(i): state.last_beat.get(i, 0.0) for i in state.silenced
                    },
                    "live": sum(1 for t in tasks if not t.done()),
                }
            )
        elif command["cmd"] == "quit":
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()


if __name__ == "__main__":
    target, token_file, first, count, channels = sys.argv[1:6]
    with open(token_file) as handle:
        all_tokens = handle.read().split("\n")
    mine = all_tokens[int(first) : int(first) + int(count)]
    # Fewer young collections while thousands of streams churn objects; as the workers do.
    gc.set_threshold(50_000, 50, 100)
    uvloop.run(main(target, mine, int(channels), 100))
