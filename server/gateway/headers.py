"""Which HTTP headers become gRPC metadata and back, and the If-None-Match check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.interceptors.cache_headers import EDGE_MARKER

# Request headers the server reads: identity, tracing, conditional reads.
FORWARDED = ("authorization", "x-api-key", "x-request-id", "if-none-match", "x-forwarded-proto")
# Response metadata never shown as headers: gRPC's own and binary values.
_HIDDEN_PREFIXES = ("grpc-", ":")
_HIDDEN = {"content-type", "content-length", "te", "trailer", "transfer-encoding", "connection"}
CORS_EXPOSED = [
    "etag",
    "cache-control",
    "retry-after",
    "x-request-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
]


def request_metadata(headers: Mapping[str, str], client_host: str) -> list[tuple[str, str]]:
    """Forward the allowed headers; append the peer to X-Forwarded-For as one proxy hop does."""
    metadata = [EDGE_MARKER, *((name, headers[name]) for name in FORWARDED if name in headers)]
    chain = [hop.strip() for hop in headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    if client_host:
        chain.append(client_host)
    if chain:
        metadata.append(("x-forwarded-for", ", ".join(chain)))
    return metadata


def response_headers(metadata: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Text metadata from the server (initial, then trailing) as response headers."""
    headers: dict[str, str] = {}
    for key, value in metadata:
        if key.startswith(_HIDDEN_PREFIXES) or key.endswith("-bin") or key in _HIDDEN:
            continue
        if isinstance(value, str):
            headers[key] = value
    return headers


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def etag_matches(if_none_match: str | None, etag: str | None) -> bool:
    """RFC 9110 weak comparison: `*` or any listed tag equal to the current one."""
    if not if_none_match or not etag:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or etag.removeprefix("W/") in tags
