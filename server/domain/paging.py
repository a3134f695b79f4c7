"""Page size rules and opaque keyset page tokens shared by every List method."""

from __future__ import annotations

import base64
import hashlib
import json

from server.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_limit(
    page_size: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    if page_size < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(page_size or default, maximum)


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:12]


def encode_token(cursor: tuple[str, ...] | None, scope: str) -> str:
    """Bind the cursor to the query it came from, so a token is refused elsewhere."""
    if cursor is None:
        return ""
    raw = json.dumps({"c": list(cursor), "s": _fingerprint(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, scope: str) -> tuple[str, ...] | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = tuple(str(part) for part in data["c"])
        valid = data["s"] == _fingerprint(scope) and bool(cursor)
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise InvalidArgument.field("page_token", "is not a token from this query")
    return cursor
