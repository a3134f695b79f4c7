"""The canonical byte layouts an agent signs, as documented in the protos.

They are the wire contract, not an implementation detail: the registry verifies
exactly these bytes, and anyone can re-encode a stored attestation and check its
signature offline with the attester's public key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agentregistry_client._proto import resources_pb2

ATTESTATION_DOMAIN = "agentregistry.v1.Attestation"


def register_message(public_key: bytes) -> bytes:
    """Proof of possession sent with CreateAgent."""
    return b"agentregistry.v1.CreateAgent\n" + public_key


def session_message(nonce: bytes) -> bytes:
    """What CreateSession expects signed: the challenge's nonce behind a domain tag."""
    return b"agentregistry.v1.CreateSession\n" + nonce


def rotate_key_message(agent: str, current_key: bytes, new_key: bytes) -> bytes:
    """Signed by both the current and the new key for RotateAgentKey."""
    return b"agentregistry.v1.RotateAgentKey\n" + agent.encode() + b"\n" + current_key + new_key


def rfc3339_seconds(value: datetime) -> str:
    """`2026-01-02T03:04:05Z`: UTC, whole seconds, a literal Z."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Claim:
    """Exactly one claim: build it with `capability`, `identity` or `behaviour`."""

    kind: str
    value: str
    capability: str | None = None
    capability_value: bool | None = None
    identity: str | None = None
    score: int | None = None

    @classmethod
    def for_capability(cls, capability: str, value: bool = True) -> Claim:
        name = (
            capability if capability.startswith("capabilities/") else f"capabilities/{capability}"
        )
        flag = "true" if value else "false"
        return cls("capability", f"{name}={flag}", capability=name, capability_value=value)

    @classmethod
    def for_identity(cls, identity: str) -> Claim:
        return cls("identity", identity, identity=identity)

    @classmethod
    def for_behaviour(cls, score: int) -> Claim:
        if not 0 <= score <= 100:
            raise ValueError("a behaviour score is 0 to 100")
        return cls("behaviour", str(int(score)), score=int(score))

    @classmethod
    def from_proto(cls, attestation: resources_pb2.Attestation) -> Claim:
        which = attestation.WhichOneof("claim")
        if which == "capability":
            return cls.for_capability(
                attestation.capability.capability, attestation.capability.value
            )
        if which == "identity":
            return cls.for_identity(attestation.identity.value)
        if which == "behaviour":
            return cls.for_behaviour(attestation.behaviour.score)
        raise ValueError("the attestation carries no claim")

    def apply(self, attestation: resources_pb2.Attestation) -> None:
        """Set this claim on an Attestation proto."""
        if self.capability is not None:
            attestation.capability.capability = self.capability
            attestation.capability.value = bool(self.capability_value)
        elif self.identity is not None:
            attestation.identity.value = self.identity
        else:
            attestation.behaviour.score = int(self.score or 0)


def attestation_message(
    attester: str,
    subject: str,
    claim: Claim,
    issue_time: datetime,
    expire_time: datetime | None = None,
) -> bytes:
    """Seven lines joined by "\\n", no trailing newline (`Attestation` in resources.proto)."""
    lines = [
        ATTESTATION_DOMAIN,
        attester,
        subject,
        claim.kind,
        claim.value,
        rfc3339_seconds(issue_time),
        "" if expire_time is None else rfc3339_seconds(expire_time),
    ]
    return "\n".join(lines).encode("utf-8")


def encode_attestation(attestation: resources_pb2.Attestation) -> bytes:
    """The signed bytes of a stored (or about to be sent) attestation."""
    expire = None
    if attestation.HasField("expire_time"):
        expire = attestation.expire_time.ToDatetime(timezone.utc)
    return attestation_message(
        attestation.attester,
        attestation.subject,
        Claim.from_proto(attestation),
        attestation.issue_time.ToDatetime(timezone.utc),
        expire,
    )


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_attestation(attestation: resources_pb2.Attestation, public_key: bytes) -> bool:
    """Offline check: was this attestation signed by the holder of `public_key`?"""
    return verify(public_key, attestation.signature, encode_attestation(attestation))
