"""SearchService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

import grpc
from agentregistry.v1 import search_service_pb2 as pb
from agentregistry.v1 import search_service_pb2_grpc

from server.domain.names import parse_capability_name
from server.registry.convert import agent_to_proto
from server.search import convert
from server.search.service import SearchService

Context = grpc.aio.ServicerContext[object, object]


class SearchServicer(search_service_pb2_grpc.SearchServiceServicer):
    def __init__(self, service: SearchService) -> None:
        self._service = service

    async def SearchAgents(
        self, request: pb.SearchAgentsRequest, context: Context
    ) -> pb.SearchAgentsResponse:
        page, token = await self._service.search(
            request.query,
            convert.filter_from_proto(request.filter),
            request.page_size,
            request.page_token,
        )
        return convert.search_response(page, token)

    async def SuggestAgents(
        self, request: pb.SuggestAgentsRequest, context: Context
    ) -> pb.SuggestAgentsResponse:
        suggestions = await self._service.suggest(request.prefix, request.limit)
        return convert.suggest_response(suggestions)

    async def FindAgents(
        self, request: pb.FindAgentsRequest, context: Context
    ) -> pb.FindAgentsResponse:
        result, token = await self._service.find(
            request.query,
            convert.filter_from_proto(request.filter),
            request.page_size,
            request.page_token,
        )
        return convert.find_response(result, token)

    async def ListCapabilityAgents(
        self, request: pb.ListCapabilityAgentsRequest, context: Context
    ) -> pb.ListCapabilityAgentsResponse:
        agents, token = await self._service.capability_agents(
            parse_capability_name(request.capability, "capability"),
            request.verified_only,
            request.page_size,
            request.page_token,
        )
        return pb.ListCapabilityAgentsResponse(
            agents=[agent_to_proto(a) for a in agents], next_page_token=token
        )

    async def GetRegistryStats(
        self, request: pb.GetRegistryStatsRequest, context: Context
    ) -> pb.RegistryStats:
        return convert.stats_to_proto(await self._service.stats())
