"""The /metrics endpoint, on its own port so it is never exposed through the JSON edge."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector


def serve_metrics(host: str, port: int) -> tuple[Any, int]:
    """Start the endpoint in a background thread; returns the HTTP server and its port."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, int(server.server_address[1])
