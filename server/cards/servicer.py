"""AgentCardService over gRPC: cards travel as google.protobuf.Struct (plain JSON objects)."""

from __future__ import annotations

from typing import Any

from agentregistry.v1 import agent_card_service_pb2 as pb
from agentregistry.v1 import agent_card_service_pb2_grpc
from google.protobuf import struct_pb2

from server.call import Call
from server.cards import versions
from server.cards.convert import card_from_struct
from server.cards.service import CardService
from server.cards.signatures import SignatureStatus
from server.domain.names import parse_agent_name
from server.domain.wire import type_from_proto
from server.registry.convert import agent_to_proto

_STATUS = {
    SignatureStatus.UNSIGNED: pb.CARD_SIGNATURE_STATUS_UNSIGNED,
    SignatureStatus.VERIFIED: pb.CARD_SIGNATURE_STATUS_VERIFIED,
    SignatureStatus.SIGNATURE_INVALID: pb.CARD_SIGNATURE_STATUS_SIGNATURE_INVALID,
    SignatureStatus.UNSUPPORTED_ALGORITHM: pb.CARD_SIGNATURE_STATUS_UNSUPPORTED_ALGORITHM,
    SignatureStatus.MALFORMED: pb.CARD_SIGNATURE_STATUS_MALFORMED,
}


def _version(call: Call) -> str:
    """The A2A line the call's `A2A-Version` header asks for."""
    asked = dict(call.invocation_metadata() or ()).get(versions.VERSION_HEADER)
    return versions.requested(asked if isinstance(asked, str) else None)


def _struct(card: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(card)
    return struct


class AgentCardServicer(agent_card_service_pb2_grpc.AgentCardServiceServicer):
    def __init__(self, service: CardService) -> None:
        self._service = service

    async def ImportAgentCard(
        self, request: pb.ImportAgentCardRequest, call: Call
    ) -> pb.ImportAgentCardResponse:
        agent, created, status = await self._service.import_card(
            call.caller,
            card_from_struct(request.card) if request.HasField("card") else None,
            request.card_uri,
            parse_agent_name(request.agent, "agent") if request.agent else None,
            request.public_key,
            request.signature,
            type_from_proto(request.type),
        )
        return pb.ImportAgentCardResponse(
            agent=agent_to_proto(agent), created=created, signature_status=_STATUS[status]
        )

    async def GetAgentCard(self, request: pb.GetAgentCardRequest, call: Call) -> struct_pb2.Struct:
        agent_id = parse_agent_name(request.name, "name")
        return _struct(await self._service.card(agent_id, _version(call)))

    async def GetRegistryCard(
        self, request: pb.GetRegistryCardRequest, call: Call
    ) -> struct_pb2.Struct:
        return _struct(self._service.registry_card(_version(call)))

    async def VerifyAgentCard(
        self, request: pb.VerifyAgentCardRequest, call: Call
    ) -> pb.VerifyAgentCardResponse:
        status = await self._service.verify(
            parse_agent_name(request.agent, "agent"), card_from_struct(request.card)
        )
        return pb.VerifyAgentCardResponse(signature_status=_STATUS[status])
