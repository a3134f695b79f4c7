"""RegistryService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from agentregistry.v1 import registry_service_pb2 as pb
from agentregistry.v1 import registry_service_pb2_grpc, resources_pb2
from google.protobuf import empty_pb2

from server import method_policy
from server.cache import keys
from server.cache.responses import CachedResponses
from server.call import Call
from server.calls.rate_limit import CallerKeys
from server.domain import refusals
from server.domain.names import parse_agent_name, parse_capability_name
from server.domain.wire import type_from_proto
from server.events import convert as event_convert
from server.events.watch import Watches
from server.registry import convert
from server.registry.service import RegistryService

_GET_AGENT = method_policy.of("/agentregistry.v1.RegistryService/GetAgent")
_LIST_AGENTS = method_policy.of("/agentregistry.v1.RegistryService/ListAgents")


def _itself(agent: resources_pb2.Agent) -> tuple[resources_pb2.Agent]:
    return (agent,)


def _listed(response: pb.ListAgentsResponse) -> Iterable[resources_pb2.Agent]:
    return response.agents


class RegistryServicer(registry_service_pb2_grpc.RegistryServiceServicer):
    def __init__(
        self,
        service: RegistryService,
        responses: CachedResponses,
        watches: Watches | None = None,
        callers: CallerKeys | None = None,
    ) -> None:
        self._service = service
        self._responses = responses
        self._watches = watches
        self._callers = callers or CallerKeys(0, ())
        self._event_protos = event_convert.SharedEventProtos()

    async def CreateAgent(self, request: pb.CreateAgentRequest, call: Call) -> resources_pb2.Agent:
        capabilities = convert.capability_ids(request.capabilities, "capabilities")
        agent = await self._service.register(
            convert.profile_from_proto(request.agent),
            request.public_key,
            request.signature,
            capabilities,
        )
        return convert.agent_to_proto(agent)

    async def GetAgent(self, request: pb.GetAgentRequest, call: Call) -> resources_pb2.Agent:
        agent_id = parse_agent_name(request.name, "name")

        async def build() -> resources_pb2.Agent:
            return convert.agent_to_proto(await self._service.get_stored(agent_id))

        return await self._responses.serve(
            keys.response("agent", agent_id),
            keys.generations(_GET_AGENT, agent_id),
            _GET_AGENT.cache_ttl_s,
            resources_pb2.Agent,
            build,
            _itself,
            known=(agent_id,),
            ticket=call.take_count(),
        )

    async def ListAgents(self, request: pb.ListAgentsRequest, call: Call) -> pb.ListAgentsResponse:
        agent_type = type_from_proto(request.type)

        async def build() -> pb.ListAgentsResponse:
            page = await self._service.list_agents(
                request.page_size, request.page_token, agent_type
            )
            return convert.list_agents_response(*page)

        return await self._responses.serve(
            keys.request_response("agents", request),
            keys.generations(_LIST_AGENTS),
            _LIST_AGENTS.cache_ttl_s,
            pb.ListAgentsResponse,
            build,
            _listed,
            ticket=call.take_count(),
        )

    async def UpdateAgent(self, request: pb.UpdateAgentRequest, call: Call) -> resources_pb2.Agent:
        agent = await self._service.update(
            call.caller,
            parse_agent_name(request.agent.name, "agent.name"),
            convert.profile_changes(request.agent),
            list(request.update_mask.paths),
            request.agent.etag,
            convert.populated_fields(request.agent),
        )
        return convert.agent_to_proto(agent)

    async def DeleteAgent(self, request: pb.DeleteAgentRequest, call: Call) -> empty_pb2.Empty:
        await self._service.delete(call.caller, parse_agent_name(request.name, "name"))
        return empty_pb2.Empty()

    async def RotateAgentKey(
        self, request: pb.RotateAgentKeyRequest, call: Call
    ) -> resources_pb2.Agent:
        agent = await self._service.rotate_key(
            parse_agent_name(request.name, "name"),
            request.new_public_key,
            request.signature,
            request.new_key_signature,
        )
        return convert.agent_to_proto(agent)

    async def AddAgentCapability(
        self, request: pb.AddAgentCapabilityRequest, call: Call
    ) -> resources_pb2.Agent:
        agent = await self._service.add_capability(
            call.caller,
            parse_agent_name(request.agent, "agent"),
            parse_capability_name(request.capability, "capability"),
        )
        return convert.agent_to_proto(agent)

    async def RemoveAgentCapability(
        self, request: pb.RemoveAgentCapabilityRequest, call: Call
    ) -> resources_pb2.Agent:
        agent = await self._service.remove_capability(
            call.caller,
            parse_agent_name(request.agent, "agent"),
            parse_capability_name(request.capability, "capability"),
        )
        return convert.agent_to_proto(agent)

    async def ListCapabilities(
        self, request: pb.ListCapabilitiesRequest, call: Call
    ) -> pb.ListCapabilitiesResponse:
        capabilities, token = await self._service.list_capabilities(
            request.page_size, request.page_token
        )
        return pb.ListCapabilitiesResponse(
            capabilities=[convert.capability_to_proto(c) for c in capabilities],
            next_page_token=token,
        )

    async def GetCapability(
        self, request: pb.GetCapabilityRequest, call: Call
    ) -> resources_pb2.Capability:
        capability = await self._service.get_capability(parse_capability_name(request.name, "name"))
        return convert.capability_to_proto(capability)

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, call: Call
    ) -> AsyncIterator[resources_pb2.Event]:
        if self._watches is None:
            raise refusals.feed_unavailable()
        events = self._watches.watch(
            self._callers.of(call),
            request.after_event_id,
            event_convert.type_filter(request.types),
            event_convert.agent_filter(request.agent),
            from_oldest=request.start_from_oldest,
        )
        protos = self._event_protos
        async for event in events:
            yield protos.of(event)
