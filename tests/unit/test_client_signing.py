"""The client's canonical encodings are byte for byte the server's (written apart on purpose:
the client imports no server code)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentregistry_client import AgentKey, Claim, attestation_message, signing

from server.attestations import canonical
from server.domain import signing as server_signing
from server.domain.attestations import Claim as ServerClaim
from server.domain.attestations import ClaimKind

ISSUED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EXPIRES = datetime(2026, 2, 2, 3, 4, 5, 999_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("client_claim", "server_claim"),
    [
        (Claim.for_behaviour(87), ServerClaim(ClaimKind.BEHAVIOUR, behaviour_score=87)),
        (Claim.for_behaviour(0), ServerClaim(ClaimKind.BEHAVIOUR, behaviour_score=0)),
        (
            Claim.for_identity("example.com"),
            ServerClaim(ClaimKind.IDENTITY, identity="example.com"),
        ),
        (
            Claim.for_capability("travel-booking", False),
            ServerClaim(
                ClaimKind.CAPABILITY, capability_id="travel-booking", capability_value=False
            ),
        ),
        (
            Claim.for_capability("capabilities/code-generation"),
            ServerClaim(
                ClaimKind.CAPABILITY, capability_id="code-generation", capability_value=True
            ),
        ),
    ],
)
@pytest.mark.parametrize("expires", [None, EXPIRES])
def test_attestation_bytes_match_the_server(
    client_claim: Claim, server_claim: ServerClaim, expires: datetime | None
) -> None:
    ours = attestation_message("agents/ag_A", "agents/ag_B", client_claim, ISSUED, expires)
    theirs = canonical.encode("ag_A", "ag_B", server_claim, ISSUED, expires)
    assert ours == theirs


def test_the_documented_example() -> None:
    encoded = attestation_message("agents/ag_A", "agents/ag_B", Claim.for_behaviour(87), ISSUED)
    assert encoded == (
        b"agentregistry.v1.Attestation\nagents/ag_A\nagents/ag_B\nbehaviour\n87\n"
        b"2026-01-02T03:04:05Z\n"
    )


def test_register_session_and_rotation_messages_verify_on_the_server() -> None:
    key, new = AgentKey.generate(), AgentKey.generate()
    register = signing.register_message(key.public_key)
    assert register == server_signing.register_message(key.public_key)
    assert server_signing.verify(key.public_key, key.sign(register), register)
    assert signing.session_message(b"nonce") == server_signing.session_message(b"nonce")
    rotation = signing.rotate_key_message("agents/ag_A", key.public_key, new.public_key)
    assert rotation == server_signing.rotate_key_message(
        "agents/ag_A", key.public_key, new.public_key
    )


def test_out_of_range_and_naive_values_are_refused() -> None:
    with pytest.raises(ValueError):
        Claim.for_behaviour(101)
    with pytest.raises(ValueError):
        attestation_message("a", "b", Claim.for_behaviour(1), datetime(2026, 1, 1))


def test_key_files_round_trip_and_pem_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = AgentKey.generate()
    key.remember("agents/ag_A")  # no file yet: remembered in memory only
    path = key.save(tmp_path / "k" / "agent.key")
    loaded = AgentKey.load(path)
    assert (loaded.agent, loaded.public_key) == ("agents/ag_A", key.public_key)
    pem = key.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    monkeypatch.setenv("AGENTREGISTRY_KEY", pem.decode())
    monkeypatch.setenv("AGENTREGISTRY_AGENT", "agents/ag_B")
    from_env = AgentKey.load_or_create(tmp_path / "unused.key")
    assert (from_env.agent, from_env.public_key) == ("agents/ag_B", key.public_key)
    assert not (tmp_path / "unused.key").exists()
