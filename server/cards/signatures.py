"""A2A card signatures: JWS (RFC 7515) with a detached payload over the card's canonical form.

Each signature is `protected` and `signature`; the signing input is
`protected "." b64url(payload)`, where the payload is one of the forms in
server.cards.canonical (the official SDKs' form first). PyJWT checks the JWS (header,
`crit`, algorithm, signature); the header is first parsed within the document limits
(server.domain.documents), so one nested fifty thousand levels deep is MALFORMED, not a
RecursionError. Which key checks a signature is the caller's choice (`KeyFor`): the
registry hands over a key bound to the agent's proven domain when the header's `jku`
names one there (server.cards.domain_keys, any algorithm below), else the agent's
registered Ed25519 key for EdDSA; a card never vouches for its own key (a `jwk` in the
header, a `jku` elsewhere).
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from server.cards import canonical
from server.domain import documents, signing

# "Ed25519" is RFC 9864's fully specified name for EdDSA over Ed25519.
EDDSA = frozenset({"EdDSA", "Ed25519"})
# Asymmetric algorithms only: never `none` or HS* (a public key is no shared secret).
ALGORITHMS = (*sorted(EDDSA), "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256")

_JWS = jwt.PyJWS(algorithms=[a for a in ALGORITHMS if a != "Ed25519"])
_JWS.register_algorithm("Ed25519", OKPAlgorithm())

# The key that may check a signature with this protected header, or None if there is none.
KeyFor = Callable[[Mapping[str, Any]], Any]


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
    """The canonical bytes the official SDKs sign: the card without `signatures`,
    defaults and empty fields (server.cards.canonical)."""
    return canonical.forms(card)[0][0]


@dataclass(frozen=True, slots=True)
class Verification:
    """The verdict, and the card a VERIFIED signature covers (for a 1.x card, its 1.x
    fields: what a 1.x client reads); other verdicts carry the card as received."""

    status: SignatureStatus
    card: dict[str, Any]


def protected_header(protected: str) -> dict[str, Any]:
    """The JWS protected header, parsed within the limits; raises ValueError."""
    if not isinstance(protected, str) or len(protected) > documents.JWS_MAX_HEADER_CHARS:
        raise ValueError("the protected header is not a string within the limit")
    header = documents.loads(b64url_decode(protected), max_bytes=documents.JWS_MAX_HEADER_CHARS)
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise ValueError("the protected header has no alg")
    return header


def registered_key(public_key: bytes) -> KeyFor:
    """The agent's registered Ed25519 key, for EdDSA signatures only."""

    def key_for(header: Mapping[str, Any]) -> Any:
        if header["alg"] not in EDDSA or len(public_key) != signing.PUBLIC_KEY_BYTES:
            return None
        return Ed25519PublicKey.from_public_bytes(public_key)

    return key_for


def first_of(*sources: KeyFor) -> KeyFor:
    """The first key any source has for the header."""

    def key_for(header: Mapping[str, Any]) -> Any:
        return next((k for source in sources if (k := source(header)) is not None), None)

    return key_for


def _verifies(token: str, key: Any, algorithm: str) -> bool:
    try:
        _JWS.decode_complete(token, key, algorithms=[algorithm])
    except jwt.PyJWTError:
        return False
    return True


def verify_with(card: dict[str, Any], key_for: KeyFor) -> Verification:
    """VERIFIED if any signature verifies over any canonical form with the key `key_for`
    gives it; otherwise the most telling failure: MALFORMED over SIGNATURE_INVALID over
    UNSUPPORTED_ALGORITHM (no key, or an algorithm outside ALGORITHMS)."""
    entries = card.get("signatures") or []
    if not entries:
        return Verification(SignatureStatus.UNSIGNED, card)
    failures: set[SignatureStatus] = set()
    # The same for every entry.
    encoded = [(b64url_encode(p), covered) for p, covered in canonical.forms(card)]
    for entry in entries:
        try:
            protected, signature = entry["protected"], entry["signature"]
            b64url_decode(signature)
            header = protected_header(protected)
        except (KeyError, TypeError, ValueError):
            failures.add(SignatureStatus.MALFORMED)
            continue
        key = key_for(header) if header["alg"] in ALGORITHMS else None
        if key is None:
            failures.add(SignatureStatus.UNSUPPORTED_ALGORITHM)
            continue
        for payload, covered in encoded:
            if _verifies(f"{protected}.{payload}.{signature}", key, header["alg"]):
                return Verification(SignatureStatus.VERIFIED, covered)
        failures.add(SignatureStatus.SIGNATURE_INVALID)
    for status in (SignatureStatus.MALFORMED, SignatureStatus.SIGNATURE_INVALID):
        if status in failures:
            return Verification(status, card)
    return Verification(SignatureStatus.UNSUPPORTED_ALGORITHM, card)


def verify_card(card: dict[str, Any], public_key: bytes) -> Verification:
    """`verify_with` the agent's registered Ed25519 key."""
    return verify_with(card, registered_key(public_key))
