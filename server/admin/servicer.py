"""AdminService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

from agentregistry.v1 import admin_service_pb2 as pb
from agentregistry.v1 import admin_service_pb2_grpc, auth_service_pb2, resources_pb2

from server.admin.service import AdminService
from server.auth import convert as auth_convert
from server.call import Call
from server.domain.names import parse_agent_name, parse_api_key_name
from server.registry.convert import agent_to_proto


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    def __init__(self, service: AdminService) -> None:
        self._service = service

    async def VerifyAgent(self, request: pb.VerifyAgentRequest, call: Call) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")
        return agent_to_proto(await self._service.verify(call.caller, agent_id, request.reason))

    async def UnverifyAgent(
        self, request: pb.UnverifyAgentRequest, call: Call
    ) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")
        return agent_to_proto(await self._service.unverify(call.caller, agent_id, request.reason))

    async def SuspendAgent(
        self, request: pb.SuspendAgentRequest, call: Call
    ) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")
        return agent_to_proto(await self._service.suspend(call.caller, agent_id, request.reason))

    async def TakeDownAgent(
        self, request: pb.TakeDownAgentRequest, call: Call
    ) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")
        return agent_to_proto(await self._service.take_down(call.caller, agent_id, request.reason))

    async def ReinstateAgent(
        self, request: pb.ReinstateAgentRequest, call: Call
    ) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")
        return agent_to_proto(await self._service.reinstate(call.caller, agent_id, request.reason))

    async def UpdateApiKeyPlan(
        self, request: pb.UpdateApiKeyPlanRequest, call: Call
    ) -> auth_service_pb2.ApiKey:
        agent_id, key_id = parse_api_key_name(request.name, "name")
        plan = (
            None
            if request.plan == auth_service_pb2.API_KEY_PLAN_UNSPECIFIED
            else auth_convert.plan_from_proto(request.plan)
        )
        key = await self._service.update_plan(call.caller, agent_id, key_id, plan, request.reason)
        return auth_convert.api_key_to_proto(key)
