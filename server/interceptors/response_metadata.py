"""Response metadata gathered during a call and sent once with its trailers.

gRPC keeps one set of trailing metadata per call and `abort` replaces it, so
interceptors add pairs here and whoever ends the call (the access log on
success, the error mapper on failure) sends them all. The JSON edge turns them
into HTTP headers.
"""

from __future__ import annotations

import contextvars

Pairs = list[tuple[str, str]]

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
