"""Agent Registry client: keys, sessions, presence, attestations, search, and the CLI.

key = AgentKey.load_or_create("agent.key")
async with RegistryClient("127.0.0.1:50051", key=key) as client:
    await client.ensure_registered("Lisbon Trips", "service", tags=["travel"])
    async with client.presence() as presence:
        async for event in presence.events():
            ...
"""

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
