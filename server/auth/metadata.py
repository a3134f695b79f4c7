"""Reading credentials from call metadata (gRPC, or HTTP headers via the JSON edge)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.domain import refusals


def bearer_token(metadata: Iterable[Any] | None) -> str | None:
    """The `authorization: Bearer …` token; a malformed header is an error, not anonymity."""
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise refusals.malformed_authorization()
            return token.strip()
    return None


def api_key(metadata: Iterable[Any] | None) -> str | None:
    for key, value in metadata or ():
        if key == "x-api-key" and str(value).strip():
            return str(value).strip()
    return None
