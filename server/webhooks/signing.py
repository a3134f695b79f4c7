"""Webhook signatures as Standard Webhooks (standardwebhooks.com) defines them.

HMAC-SHA256 over "{id}.{timestamp}.{raw body}", keyed with the bytes the
secret encodes (`whsec_` + base64), so any Standard Webhooks library verifies a
delivery. The timestamp is signed so a receiver can refuse replays outside its
tolerance; the id is signed so a captured body cannot be replayed under another id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
KEY_BYTES = 32


def new_secret() -> str:
    """256 random bits; shown to the owner once (create and rotate)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key a secret stands for. Secrets issued before the standard format
    (`whsec_` + 43 url-safe characters, not valid padded base64) keep their old key, the
    secret's own UTF-8 bytes, until rotated, so existing receivers keep verifying."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        return secret.encode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 digest>` (versioned for rotation)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
