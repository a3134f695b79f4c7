"""Calls about an agent's identity beyond its profile: key rotation, proven domains and
A2A cards (mixed into RegistryClient)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format, struct_pb2

from agentregistry_client import convert
from agentregistry_client._proto import (
    agent_card_service_pb2,
    agent_card_service_pb2_grpc,
    domain_service_pb2,
    domain_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)
from agentregistry_client.client_core import ClientCore
from agentregistry_client.errors import NotRegistered
from agentregistry_client.keys import AgentKey
from agentregistry_client.signing import rotate_key_message


class ProfileCalls:
    async def rotate_key(self: ClientCore, new_key: AgentKey) -> resources_pb2.Agent:
        """RotateAgentKey, signed by the current key and `new_key`. The agent's sessions
        end; sign in with `new_key` from now on (its API keys stay)."""
        if self.key is None:
            raise NotRegistered()
        message = rotate_key_message(self.agent, self.key.public_key, new_key.public_key)
        request = registry_service_pb2.RotateAgentKeyRequest(
            name=self.agent,
            new_public_key=new_key.public_key,
            signature=self.key.sign(message),
            new_key_signature=new_key.sign(message),
        )
        registry = self.registry
        return await self.call(lambda md: registry.RotateAgentKey(request, metadata=md), True)

    async def claim_domain(self: ClientCore, domain: str) -> resources_pb2.Agent:
        """Step one of a domain proof; then publish the key at the domain and verify."""
        request = domain_service_pb2.ClaimDomainRequest(name=self.agent, domain=domain)
        stub = domain_service_pb2_grpc.DomainServiceStub(self.channel)
        return await self.call(lambda md: stub.ClaimDomain(request, metadata=md), True)

    async def verify_domain(self: ClientCore) -> resources_pb2.Agent:
        request = domain_service_pb2.VerifyDomainRequest(name=self.agent)
        stub = domain_service_pb2_grpc.DomainServiceStub(self.channel)
        return await self.call(lambda md: stub.VerifyDomain(request, metadata=md), True)

    async def get_card(self: ClientCore, name: str | None = None) -> dict[str, Any]:
        """Any agent as an A2A card (the card it published, else the registry's)."""
        request = agent_card_service_pb2.GetAgentCardRequest(
            name=convert.agent_name(name or self.agent)
        )
        stub = agent_card_service_pb2_grpc.AgentCardServiceStub(self.channel)
        card: struct_pb2.Struct = await self.call(
            lambda md: stub.GetAgentCard(request, metadata=md)
        )
        return dict(json_format.MessageToDict(card))

    async def verify_card(
        self: ClientCore, card: dict[str, Any], agent: str | None = None
    ) -> agent_card_service_pb2.VerifyAgentCardResponse:
        """A card's signatures checked against the agent's registered key."""
        request = agent_card_service_pb2.VerifyAgentCardRequest(
            agent=convert.agent_name(agent or self.agent),
            card=json_format.Parse(json.dumps(card), struct_pb2.Struct()),
        )
        stub = agent_card_service_pb2_grpc.AgentCardServiceStub(self.channel)
        return await self.call(lambda md: stub.VerifyAgentCard(request, metadata=md))
