"""DomainService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

from agentregistry.v1 import domain_service_pb2 as pb
from agentregistry.v1 import domain_service_pb2_grpc, resources_pb2

from server.call import Call
from server.domain.names import parse_agent_name
from server.domain_proofs.service import DomainService
from server.registry.convert import agent_to_proto


class DomainServicer(domain_service_pb2_grpc.DomainServiceServicer):
    def __init__(self, service: DomainService) -> None:
        self._service = service

    async def ClaimDomain(self, request: pb.ClaimDomainRequest, call: Call) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")
        return agent_to_proto(await self._service.claim(call.caller, agent_id, request.domain))

    async def VerifyDomain(
        self, request: pb.VerifyDomainRequest, call: Call
    ) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")
        return agent_to_proto(await self._service.verify(call.caller, agent_id))
