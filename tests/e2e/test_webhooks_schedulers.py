"""Scheduler instances as real processes: each run happens once; a killed one loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from agentregistry.v1 import registry_service_pb2, resources_pb2
from google.protobuf import field_mask_pb2

from tests.e2e.test_webhooks_delivery import (  # noqa: F401 - fixtures
    hook_server,
    hook_settings,
    job_context,
    owner_with_hook,
    receiver,
    stubs,
)
from tests.webhook_receiver import Receiver

# Deliveries come from scheduler processes that first import the app and connect: on a
# loaded machine that alone can take tens of seconds, so the deadline is generous and
# only bounds a test that would otherwise hang; the wait ends as soon as the condition holds.
WAIT_S = 300.0


def start_scheduler(backing: Any, log_path: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": backing.database_url,
        "REDIS_URL": backing.redis_url,
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "WEBHOOK_DELIVERY_INTERVAL_S": "0.2",
        "WEBHOOK_RETRY_BASE_S": "0.05",
        "WEBHOOK_RUN_BUDGET_S": "2",
        "CLEANUP_INTERVAL_S": "3600",
    }
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


async def produce(api: Any, paths: list[str], sink: Receiver, per_hook: int) -> None:
    """Create one webhook per path and `per_hook` AGENT_UPDATED events for each owner."""
    registry = api[0]
    owners = [(await owner_with_hook(api, sink.url(p)))[0] for p in paths]
    for n in range(per_hook):
        for owner in owners:
            await registry.UpdateAgent(
                registry_service_pb2.UpdateAgentRequest(
                    agent=resources_pb2.Agent(name=owner.name, description=f"v{n}"),
                    update_mask=field_mask_pb2.FieldMask(paths=["description"]),
                ),
                metadata=owner.metadata,
            )


def delivered(sink: Receiver, paths: list[str]) -> Counter[tuple[str, int]]:
    return Counter(
        (r.path, int(json.loads(r.body)["id"])) for r in sink.requests if r.path in paths
    )


async def wait_for(
    sink: Receiver,
    paths: list[str],
    count: int,
    schedulers: list[subprocess.Popen[bytes]],
    poll_s: float = 0.1,
) -> None:
    """Poll the receiver until `count` distinct events arrived (deliveries come from other
    processes); give up early only if every scheduler has exited, else at the deadline."""
    deadline = time.monotonic() + WAIT_S
    while len(delivered(sink, paths)) < count:
        arrived = len(delivered(sink, paths))
        assert time.monotonic() < deadline, f"{arrived}/{count} events after {WAIT_S:.0f} s"
        exits = [p.returncode for p in schedulers if p.poll() is not None]
        assert len(exits) < len(schedulers), f"schedulers exited {exits} at {arrived}/{count}"
        await asyncio.sleep(poll_s)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_two_scheduler_processes_deliver_each_event_once(
    stubs,  # noqa: F811
    receiver,  # noqa: F811
    backing,
    tmp_path,
) -> None:
    paths = [f"/pair/{i}" for i in range(4)]
    await produce(stubs, paths, receiver, per_hook=10)
    first = start_scheduler(backing, str(tmp_path / "a.log"))
    second = start_scheduler(backing, str(tmp_path / "b.log"))
    try:
        await wait_for(receiver, paths, 40, [first, second])
    finally:
        stop(first)
        stop(second)
    counts = delivered(receiver, paths)
    assert len(counts) == 40
    assert set(counts.values()) == {1}  # no crash, so no repeats: every run happened once
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert "job=webhook_delivery status=ok" in logs


async def test_killed_scheduler_loses_no_event(
    stubs,  # noqa: F811
    receiver,  # noqa: F811
    backing,
    tmp_path,
) -> None:
    receiver.delay_s = 0.05
    paths = [f"/crash/{i}" for i in range(5)]
    await produce(stubs, paths, receiver, per_hook=12)
    victim = start_scheduler(backing, str(tmp_path / "victim.log"))
    try:
        await wait_for(receiver, paths, 10, [victim], poll_s=0.02)
        victim.send_signal(signal.SIGKILL)  # mid-run: attempts in flight, nothing recorded
        victim.wait()
        assert len(delivered(receiver, paths)) < 60
        survivor = start_scheduler(backing, str(tmp_path / "survivor.log"))
        try:
            await wait_for(receiver, paths, 60, [survivor])
        finally:
            stop(survivor)
    finally:
        stop(victim)
    counts = delivered(receiver, paths)
    assert len(counts) == 60  # every event at least once, none missing
    # Still in order per webhook: ids never go backwards except for a resend of the head.
    for path in paths:
        ids = [int(json.loads(r.body)["id"]) for r in receiver.at(path)]
        assert sorted(set(ids)) == list(dict.fromkeys(ids))
