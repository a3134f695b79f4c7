"""The signed byte layout is a public contract: pin it with fixed vectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.attestations.canonical import encode, truncate_seconds
from server.domain import signing
from server.domain.attestations import Claim, ClaimKind

ATTESTER = "ag_AAAAAAAAAAAAAAAA"
SUBJECT = "ag_BBBBBBBBBBBBBBBB"
ISSUED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_behaviour_vector_without_expiry() -> None:
    payload = encode(
        ATTESTER, SUBJECT, Claim(ClaimKind.BEHAVIOUR, behaviour_score=87), ISSUED, None
    )
    assert payload == (
        b"agentregistry.v1.Attestation\n"
        b"agents/ag_AAAAAAAAAAAAAAAA\n"
        b"agents/ag_BBBBBBBBBBBBBBBB\n"
        b"behaviour\n"
        b"87\n"
        b"2026-01-02T03:04:05Z\n"
    )


def test_capability_vector_with_expiry_in_another_zone() -> None:
    claim = Claim(ClaimKind.CAPABILITY, capability_id="translation", capability_value=False)
    expires = datetime(2026, 2, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    payload = encode(ATTESTER, SUBJECT, claim, ISSUED, expires)
    assert payload.split(b"\n")[3:] == [
        b"capability",
        b"capabilities/translation=false",
        b"2026-01-02T03:04:05Z",
        b"2026-02-01T10:00:00Z",
    ]


def test_identity_vector_and_a_fixed_key_signature() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    payload = encode(
        ATTESTER, SUBJECT, Claim(ClaimKind.IDENTITY, identity="example.com"), ISSUED, None
    )
    assert payload.split(b"\n")[3:5] == [b"identity", b"example.com"]
    public = key.public_key().public_bytes_raw()
    assert signing.verify(public, key.sign(payload), payload)
    assert not signing.verify(public, key.sign(payload), payload.replace(b"example", b"exanple"))


def test_sub_second_precision_is_not_signed() -> None:
    precise = ISSUED.replace(microsecond=999_999)
    claim = Claim(ClaimKind.BEHAVIOUR, behaviour_score=1)
    assert encode(ATTESTER, SUBJECT, claim, precise, None) == encode(
        ATTESTER, SUBJECT, claim, ISSUED, None
    )
    assert truncate_seconds(precise) == ISSUED


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        encode(
            ATTESTER,
            SUBJECT,
            Claim(ClaimKind.BEHAVIOUR, behaviour_score=1),
            ISSUED.replace(tzinfo=None),
            None,
        )
