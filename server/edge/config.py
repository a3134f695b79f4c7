"""envoy/envoy.yaml rendered for one host: addresses, ports and absolute file paths.

The file in the repository is the production config (validated as it stands);
`make run` and the test suite start Envoy from a copy with their own listener,
upstream and admin ports, so the two can never drift apart.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any, Literal

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


_TYPES = "type.googleapis.com/"
AccessLog = Literal["off", "errors", "all"]

# One JSON object per line, keyed like the service's own log lines (time, level, logger,
# message, request_id), so both can share a stream and one parser. `status` is the HTTP
# status; a call's gRPC code is in the server's line with the same request_id (Envoy
# would infer one from the HTTP status of a JSON call, 12 for a 404, which misleads).
ACCESS_LOG_FORMAT = {
    "time": "%START_TIME(%Y-%m-%d %H:%M:%S,%3f)%",
    "level": "INFO",
    "logger": "agentregistry.edge.access",
    # What the client sent: the transcoder turns a JSON call into a POST of its gRPC path.
    "message": " ".join(
        ("%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%")
    )
    + " %RESPONSE_CODE%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "status": "%RESPONSE_CODE%",
    "flags": "%RESPONSE_FLAGS%",
    "duration_ms": "%DURATION%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "upstream": "%UPSTREAM_HOST%",
    "user_agent": "%REQ(USER-AGENT)%",
}


def _access_log(kind: AccessLog, percent: float = 100.0) -> list[dict[str, Any]]:
    """Envoy's access log for EDGE_ACCESS_LOG: none, failed requests only (HTTP status
    400 or more, a gRPC status other than OK, or Envoy's own failure flags), or every
    request; `percent` of those, drawn at random."""
    if kind == "off":
        return []
    filters: list[dict[str, Any]] = []
    if kind == "errors":
        status = {"default_value": 400, "runtime_key": "access_log.status"}
        ge_400 = {"comparison": {"op": "GE", "value": status}}
        failed = [
            {"status_code_filter": ge_400},
            {"grpc_status_filter": {"statuses": ["OK"], "exclude": True}},
            {"response_flag_filter": {}},
        ]
        filters.append({"or_filter": {"filters": failed}})
    if percent < 100:
        sampled = {"numerator": round(percent * 10_000), "denominator": "MILLION"}
        filters.append(
            {
                "runtime_filter": {
                    "runtime_key": "access_log.sampled",
                    "percent_sampled": sampled,
                    "use_independent_randomness": True,
                }
            }
        )
    entry: dict[str, Any] = {
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": _TYPES + "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"json_format": ACCESS_LOG_FORMAT},
        },
    }
    if len(filters) == 1:
        entry["filter"] = filters[0]
    elif filters:
        entry["filter"] = {"and_filter": {"filters": filters}}
    return [entry]


def render(
    listen: tuple[str, int],
    upstream: tuple[str, int],
    *,
    admin_port: int = 0,
    upstream_source: str | None = None,
    access_log: AccessLog = "off",
    access_log_percent: float = 100.0,
) -> dict[str, Any]:
    """The production config listening on `listen`, forwarding to the gRPC server at
    `upstream`; `upstream_source` binds Envoy's upstream connections to that address;
    `access_log` turns on Envoy's own log of requests (see `access_log`)."""
    config = copy.deepcopy(_production())
    admin = {"address": "127.0.0.1", "port_value": admin_port}
    config["admin"]["address"]["socket_address"] = admin
    (listener,) = config["static_resources"]["listeners"]
    listener["address"]["socket_address"] = {"address": listen[0], "port_value": listen[1]}
    logs = _access_log(access_log, access_log_percent)
    if logs:
        manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
        manager["access_log"] = logs
        # Its lines carry the request id, so one is minted for requests that bring none.
        manager["generate_request_id"] = True
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


def minimal(config: dict[str, Any]) -> dict[str, Any]:
    """`config` cut down to the transcoder and the router: one route to the unary cluster,
    no access log, local reply mapping, CORS, health check or header work. Not served
    anywhere; `make bench-edge` measures what the full edge costs above it."""
    cut = copy.deepcopy(config)
    (listener,) = cut["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    (manager,) = chain["filters"]
    full = manager["typed_config"]
    filters = {f["name"]: f for f in full["http_filters"]}
    manager["typed_config"] = {
        "@type": full["@type"],
        "stat_prefix": full["stat_prefix"],
        "codec_type": full["codec_type"],
        "route_config": {
            "name": "minimal",
            "virtual_hosts": [
                {
                    "name": "minimal",
                    "domains": ["*"],
                    "routes": [
                        {"match": {"prefix": "/"}, "route": {"cluster": "agentregistry_grpc_unary"}}
                    ],
                }
            ],
        },
        "http_filters": [
            filters["envoy.filters.http.grpc_json_transcoder"],
            filters["envoy.filters.http.router"],
        ],
    }
    return cut
