"""Liveness and readiness over the standard gRPC health service.

- `liveness`: SERVING while the process runs its event loop (restart it if not).
- `""` and each API service name: readiness, SERVING only while both Postgres
  and Redis answer (take it out of rotation if not).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[object]]
LIVENESS = "liveness"


class HealthMonitor:
    """Probes dependencies on an interval and publishes one status for every service."""

    def __init__(
        self,
        servicer: HealthServicer,
        services: list[str],
        probes: dict[str, Probe],
        interval_s: float,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self._servicer = servicer
        self._services = ["", *services]
        self._probes = probes
        self._interval_s = interval_s
        self._on_tick = on_tick
        self._task: asyncio.Task[None] | None = None
        self.failing: list[str] = []

    async def check_once(self) -> bool:
        if self._on_tick is not None:
            self._on_tick()
        failing = []
        for name, probe in self._probes.items():
            try:
                await asyncio.wait_for(probe(), timeout=max(1.0, self._interval_s))
            except Exception as error:  # any failure means not ready
                failing.append(name)
                log.warning("health probe %s failed: %r", name, error)
        self.failing = failing
        status = (
            health_pb2.HealthCheckResponse.NOT_SERVING
            if failing
            else health_pb2.HealthCheckResponse.SERVING
        )
        for service in self._services:
            await self._servicer.set(service, status)
        return not failing

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.check_once()

    async def start(self) -> None:
        await self._servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await self.check_once()
        self._task = asyncio.create_task(self._run(), name="health-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._servicer.enter_graceful_shutdown()
