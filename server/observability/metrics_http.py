"""The /metrics endpoint, on its own port so it is never exposed through the JSON edge."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

from server.observability.build_info import BuildInfo


def serve_metrics(host: str, port: int) -> tuple[Any, int]:
    """Start the endpoint in a background thread; returns the HTTP server and its port.

    The default registry carries process_* and python_info already; the multiprocess
    one (the workers' summed files) does not, so it gets those of the serving process
    (the supervisor: the workers' own cannot be summed across processes)."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    with contextlib.suppress(ValueError):  # the default registry: once per process
        registry.register(BuildInfo())
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, int(server.server_address[1])
