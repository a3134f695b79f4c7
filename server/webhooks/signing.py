"""Webhook signatures: HMAC-SHA256 over "{id}.{timestamp}.{raw body}", as the proto documents.

The timestamp is signed so a receiver can refuse replays outside its tolerance;
the id is signed so a captured body cannot be replayed under another id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """256 random bits; shown to the owner once (create and rotate)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 digest>` (versioned for rotation)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
