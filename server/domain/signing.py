"""Canonical signed messages and Ed25519 verification.

The byte layouts are part of the public contract (documented in the protos), so
clients in any language can produce them.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def register_message(public_key: bytes) -> bytes:
    return b"agentregistry.v1.CreateAgent\n" + public_key


def rotate_key_message(agent_name: str, current_key: bytes, new_key: bytes) -> bytes:
    return (
        b"agentregistry.v1.RotateAgentKey\n" + agent_name.encode() + b"\n" + current_key + new_key
    )


def session_message(nonce: bytes) -> bytes:
    return b"agentregistry.v1.CreateSession\n" + nonce


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
