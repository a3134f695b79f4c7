"""Agent Registry client: keys, sessions, presence, attestations, search, and the CLI.

key = AgentKey.load_or_create("agent.key")
async with RegistryClient("127.0.0.1:50051", key=key) as client:
    await client.ensure_registered("Lisbon Trips", "service", tags=["travel"])
    async with client.presence() as presence:
        async for event in presence.events():
            ...

Names load on first use (PEP 562), so `import agentregistry_client` and the CLI's `--help`
pay for grpc and protobuf only when a call needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentregistry_client import pb
    from agentregistry_client.client import DEFAULT_TARGET, RegistryClient
    from agentregistry_client.convert import agent_filter, to_dict
    from agentregistry_client.errors import NotRegistered, PresenceEnded, RegistryError
    from agentregistry_client.keys import AgentKey, InvalidKey
    from agentregistry_client.presence import Presence
    from agentregistry_client.session import Session
    from agentregistry_client.signing import (
        Claim,
        attestation_message,
        encode_attestation,
        verify_attestation,
    )

_WHERE = {
    "pb": "agentregistry_client.pb",
    "DEFAULT_TARGET": "agentregistry_client.client",
    "RegistryClient": "agentregistry_client.client",
    "agent_filter": "agentregistry_client.convert",
    "to_dict": "agentregistry_client.convert",
    "NotRegistered": "agentregistry_client.errors",
    "PresenceEnded": "agentregistry_client.errors",
    "RegistryError": "agentregistry_client.errors",
    "AgentKey": "agentregistry_client.keys",
    "InvalidKey": "agentregistry_client.keys",
    "Presence": "agentregistry_client.presence",
    "Session": "agentregistry_client.session",
    "Claim": "agentregistry_client.signing",
    "attestation_message": "agentregistry_client.signing",
    "encode_attestation": "agentregistry_client.signing",
    "verify_attestation": "agentregistry_client.signing",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'agentregistry_client' has no attribute {name!r}")
    module = importlib.import_module(_WHERE[name])
    value = module if name == "pb" else getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_TARGET",
    "AgentKey",
    "Claim",
    "InvalidKey",
    "NotRegistered",
    "Presence",
    "PresenceEnded",
    "RegistryClient",
    "RegistryError",
    "Session",
    "agent_filter",
    "attestation_message",
    "encode_attestation",
    "pb",
    "to_dict",
    "verify_attestation",
]
