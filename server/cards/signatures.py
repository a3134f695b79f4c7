"""A2A card signatures: JWS (RFC 7515) with a detached payload over the JCS form of the card.

The signing input is `b64url(protected header) "." b64url(JCS(card without
"signatures"))`; RFC 8785 canonical JSON (the `rfc8785` package) makes it the same
bytes whatever JSON library produced the card. Only EdDSA (Ed25519, the registry's
key type, `cryptography`) is checked; parsing stops at the base64url segments and the
header's `alg`, which is all a detached-payload JWS verification needs, so no JOSE
library is pulled in for it. The header is parsed within the document limits
(server.domain.documents): one nested fifty thousand levels deep is MALFORMED, not a
RecursionError.
"""

from __future__ import annotations

import base64
import binascii
import enum
from typing import Any

import rfc8785

from server.domain import documents, signing

# "Ed25519" is RFC 9864's fully specified name for the same algorithm.
_EDDSA = frozenset({"EdDSA", "Ed25519"})


class SignatureStatus(enum.StrEnum):
    UNSIGNED = "unsigned"
    VERIFIED = "verified"
    SIGNATURE_INVALID = "signature_invalid"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    MALFORMED = "malformed"


def b64url_decode(segment: str) -> bytes:
    """Unpadded base64url, as JWS writes it; raises ValueError on anything else."""
    if not isinstance(segment, str) or "=" in segment:
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_payload(card: dict[str, Any]) -> bytes:
    """The canonical bytes a card signature covers: the card without `signatures`."""
    return rfc8785.dumps({k: v for k, v in card.items() if k != "signatures"})


def _algorithm(protected: str) -> str:
    if not isinstance(protected, str) or len(protected) > documents.JWS_MAX_HEADER_CHARS:
        raise ValueError("the protected header is not a string within the limit")
    header = documents.loads(b64url_decode(protected), max_bytes=documents.JWS_MAX_HEADER_CHARS)
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise ValueError("the protected header has no alg")
    return str(header["alg"])


def verify_card(card: dict[str, Any], public_key: bytes) -> SignatureStatus:
    """VERIFIED if any EdDSA signature verifies with `public_key`; otherwise the most
    telling failure: MALFORMED over SIGNATURE_INVALID over UNSUPPORTED_ALGORITHM."""
    entries = card.get("signatures") or []
    if not entries:
        return SignatureStatus.UNSIGNED
    failures: set[SignatureStatus] = set()
    payload = b64url_encode(signed_payload(card))  # the same for every signature
    for entry in entries:
        try:
            protected, signature = entry["protected"], b64url_decode(entry["signature"])
            algorithm = _algorithm(protected)
        except (KeyError, TypeError, ValueError):
            failures.add(SignatureStatus.MALFORMED)
            continue
        if algorithm not in _EDDSA:
            failures.add(SignatureStatus.UNSUPPORTED_ALGORITHM)
        elif signing.verify(public_key, signature, f"{protected}.{payload}".encode()):
            return SignatureStatus.VERIFIED
        else:
            failures.add(SignatureStatus.SIGNATURE_INVALID)
    for status in (SignatureStatus.MALFORMED, SignatureStatus.SIGNATURE_INVALID):
        if status in failures:
            return status
    return SignatureStatus.UNSUPPORTED_ALGORITHM
