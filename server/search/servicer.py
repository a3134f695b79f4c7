"""SearchService over gRPC: convert, call the service (or the cached response), convert back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from agentregistry.v1 import resources_pb2, search_service_pb2_grpc
from agentregistry.v1 import search_service_pb2 as pb

from server import method_policy
from server.cache import keys
from server.cache.keys import STATUS_GENERATION
from server.cache.responses import CachedResponses
from server.call import Call
from server.domain.names import parse_capability_name
from server.domain.search import AgentFilter
from server.registry.convert import agent_to_proto
from server.search import convert
from server.search.query import search_text
from server.search.service import SearchService

_SEARCH = "/agentregistry.v1.SearchService/"
_SEARCH_AGENTS = method_policy.of(_SEARCH + "SearchAgents")
_FIND_AGENTS = method_policy.of(_SEARCH + "FindAgents")
_CAPABILITY_AGENTS = method_policy.of(_SEARCH + "ListCapabilityAgents")
_STATS = method_policy.of(_SEARCH + "GetRegistryStats")


def _query(
    request: pb.SearchAgentsRequest | pb.FindAgentsRequest,
) -> tuple[str, AgentFilter, int, str]:
    """SearchAgents and FindAgents take the same query, filter and page fields."""
    filters = convert.filter_from_proto(request.filter)
    return request.query, filters, request.page_size, request.page_token


Queried = TypeVar("Queried", pb.SearchAgentsRequest, pb.FindAgentsRequest)


_FILTER_LISTS = ("capabilities", "types", "protocols", "tags", "statuses")


def _keyed(request: Queried) -> Queried:
    """The request as its response is cached: its query as the service reads it, and its
    filter's values sorted and unique (the service normalises them so, too)."""
    keyed = type(request)()
    keyed.CopyFrom(request)
    keyed.query = search_text(request.query)
    for name in _FILTER_LISTS:
        values = getattr(keyed.filter, name)
        if len(values) > 1:
            normalised = sorted(set(values))
            del values[:]
            values.extend(normalised)
    return keyed


def _generations(
    policy: method_policy.MethodPolicy, request: pb.SearchAgentsRequest | pb.FindAgentsRequest
) -> tuple[str, ...]:
    """A status filter makes the response depend on stored status, which presence flushes
    change; ranking's online bonus alone does not (a cached page keeps it up to its TTL)."""
    return (STATUS_GENERATION,) if request.filter.statuses else keys.generations(policy)


def _result_agents(
    response: pb.SearchAgentsResponse | pb.FindAgentsResponse,
) -> Iterable[resources_pb2.Agent]:
    return (result.agent for result in response.results)


def _listed_agents(response: pb.ListCapabilityAgentsResponse) -> Iterable[resources_pb2.Agent]:
    return response.agents


class SearchServicer(search_service_pb2_grpc.SearchServiceServicer):
    def __init__(self, service: SearchService, responses: CachedResponses) -> None:
        self._service = service
        self._responses = responses

    async def SearchAgents(
        self, request: pb.SearchAgentsRequest, call: Call
    ) -> pb.SearchAgentsResponse:
        async def build() -> pb.SearchAgentsResponse:
            return convert.search_response(*await self._service.search(*_query(request)))

        return await self._responses.serve(
            keys.request_response("search", _keyed(request)),
            _generations(_SEARCH_AGENTS, request),
            _SEARCH_AGENTS.cache_ttl_s,
            pb.SearchAgentsResponse,
            build,
            _result_agents,
            ticket=call.take_count(),
        )

    async def SuggestAgents(
        self, request: pb.SuggestAgentsRequest, call: Call
    ) -> pb.SuggestAgentsResponse:
        # Not cached: answered from memory (server.search.names), cheaper than a cache read.
        suggestions = await self._service.suggest(request.prefix, request.limit)
        return convert.suggest_response(suggestions)

    async def FindAgents(self, request: pb.FindAgentsRequest, call: Call) -> pb.FindAgentsResponse:
        async def build() -> pb.FindAgentsResponse:
            return convert.find_response(*await self._service.find(*_query(request)))

        return await self._responses.serve(
            keys.request_response("find", _keyed(request)),
            _generations(_FIND_AGENTS, request),
            _FIND_AGENTS.cache_ttl_s,
            pb.FindAgentsResponse,
            build,
            _result_agents,
            ticket=call.take_count(),
        )

    async def ListCapabilityAgents(
        self, request: pb.ListCapabilityAgentsRequest, call: Call
    ) -> pb.ListCapabilityAgentsResponse:
        async def build() -> pb.ListCapabilityAgentsResponse:
            agents, token = await self._service.capability_agents(
                parse_capability_name(request.capability, "capability"),
                request.verified_only,
                request.page_size,
                request.page_token,
            )
            return pb.ListCapabilityAgentsResponse(
                agents=[agent_to_proto(a) for a in agents], next_page_token=token
            )

        return await self._responses.serve(
            keys.request_response("capability-agents", request),
            keys.generations(_CAPABILITY_AGENTS),
            _CAPABILITY_AGENTS.cache_ttl_s,
            pb.ListCapabilityAgentsResponse,
            build,
            _listed_agents,
            ticket=call.take_count(),
        )

    async def GetRegistryStats(
        self, request: pb.GetRegistryStatsRequest, call: Call
    ) -> pb.RegistryStats:
        async def build() -> pb.RegistryStats:
            return convert.stats_to_proto(await self._service.stats())

        return await self._responses.serve(
            keys.request_response("stats", request),
            keys.generations(_STATS),
            _STATS.cache_ttl_s,
            pb.RegistryStats,
            build,
            ticket=call.take_count(),
        )
