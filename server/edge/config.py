"""envoy/envoy.yaml rendered for one host: addresses, ports and absolute file paths.

The file in the repository is the production config (validated as it stands);
`make run` and the test suite start Envoy from a copy with their own listener,
upstream and admin ports, so the two can never drift apart.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENVOY_YAML = ROOT / "envoy" / "envoy.yaml"
# Keys whose values are paths relative to the repository root.
_PATH_KEYS = ("filename", "proto_descriptor")


@cache
def _production() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ENVOY_YAML.read_text())
    return loaded


def _absolute_paths(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _PATH_KEYS and isinstance(value, str) and not Path(value).is_absolute():
                node[key] = str(ROOT / value)
            else:
                _absolute_paths(value)
    elif isinstance(node, list):
        for item in node:
            _absolute_paths(item)


def render(
    listen: tuple[str, int],
    upstream: tuple[str, int],
    *,
    admin_port: int = 0,
    upstream_source: str | None = None,
) -> dict[str, Any]:
    """The production config listening on `listen`, forwarding to the gRPC server at
    `upstream`; `upstream_source` binds Envoy's upstream connections to that address."""
    config = copy.deepcopy(_production())
    admin = {"address": "127.0.0.1", "port_value": admin_port}
    config["admin"]["address"]["socket_address"] = admin
    (listener,) = config["static_resources"]["listeners"]
    listener["address"]["socket_address"] = {"address": listen[0], "port_value": listen[1]}
    # Unary calls and streams reach the same server through clusters of their own.
    for cluster in config["static_resources"]["clusters"]:
        (endpoints,) = cluster["load_assignment"]["endpoints"]
        (endpoint,) = endpoints["lb_endpoints"]
        address = {"address": upstream[0], "port_value": upstream[1]}
        endpoint["endpoint"]["address"]["socket_address"] = address
        if upstream_source is not None:
            cluster["upstream_bind_config"] = {
                "source_address": {"address": upstream_source, "port_value": 0}
            }
    _absolute_paths(config)
    return config
