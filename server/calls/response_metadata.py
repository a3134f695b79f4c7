"""Response metadata gathered during a call and sent once, in the place its reader sees.

gRPC keeps one set of initial and one of trailing metadata per call, and
`abort` replaces the trailers, so the call layer adds pairs here and whoever ends
the call (the access log on success, the error mapper on failure) sends them
all. Native gRPC clients read them from the trailers. An HTTP edge (Envoy's
transcoder) passes initial metadata on as response headers but drops the
trailers of a successful call, so calls it marks (EDGE_MARKER) get the pairs
as initial metadata instead; a failed call's trailers-only answer reaches
HTTP as headers either way.
"""

from __future__ import annotations

import contextvars

Pairs = list[tuple[str, str]]

# Set by Envoy's Lua filter on every request that did not arrive as gRPC.
EDGE_MARKER = ("x-registry-edge", "http")

_pairs: contextvars.ContextVar[Pairs | None] = contextvars.ContextVar(
    "response_metadata", default=None
)


def begin() -> Pairs:
    pairs: Pairs = []
    _pairs.set(pairs)
    return pairs


def add(key: str, value: str) -> None:
    pairs = _pairs.get()
    if pairs is not None:
        pairs.append((key, value))


def collected() -> Pairs:
    return list(_pairs.get() or ())
