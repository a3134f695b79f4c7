"""Page size rules and opaque keyset page tokens shared by every List method.

A token carries its keyset cursor and an HMAC over the cursor and the query it
came from, so a token is refused for another query, and a client cannot forge
or edit one (a cursor holding a made-up rank, score or a NUL never reaches SQL).
Every process that serves the same clients must share the secret
(PAGE_TOKEN_SECRET; `python -m server` keeps one under DATA_DIR for its workers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from server.domain import failures
from server.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_MAC_BYTES = 16
_secret = secrets.token_bytes(32)  # until configure(): tokens valid in this process only


def configure(secret: bytes) -> None:
    """Sign and check tokens with `secret` from now on (tokens signed before stop working)."""
    global _secret
    _secret = secret


def page_limit(
    page_size: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    if page_size < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(page_size or default, maximum)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _mac(payload: bytes, scope: str) -> bytes:
    signed = scope.encode() + b"\n" + payload
    return hmac.new(_secret, signed, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_token(cursor: tuple[str, ...] | None, scope: str) -> str:
    """Bind the cursor to the query it came from, so a token is refused elsewhere."""
    if cursor is None:
        return ""
    payload = json.dumps(list(cursor), separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload, scope))}"


def _invalid() -> InvalidArgument:
    return failures.page_token_invalid()


def decode_token(token: str, scope: str) -> tuple[str, ...] | None:
    if not token:
        return None
    try:
        encoded_payload, _, encoded_mac = token.partition(".")
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        if not hmac.compare_digest(mac, _mac(payload, scope)):
            raise _invalid()
        cursor = tuple(str(part) for part in json.loads(payload))
    except (ValueError, TypeError) as error:  # bad base64 or JSON (binascii.Error is one)
        raise _invalid() from error
    if not cursor:
        raise _invalid()
    return cursor
