"""ReputationService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

import grpc
from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc, resources_pb2

from server.domain.names import parse_capability_name
from server.trust import convert
from server.trust.service import ReputationService

Context = grpc.aio.ServicerContext[object, object]


class ReputationServicer(attestation_service_pb2_grpc.ReputationServiceServicer):
    def __init__(self, service: ReputationService) -> None:
        self._service = service

    async def GetReputation(
        self, request: pb.GetReputationRequest, context: Context
    ) -> resources_pb2.Reputation:
        reputation = await self._service.get(convert.parse_reputation_name(request.name, "name"))
        return convert.reputation_to_proto(reputation)

    async def ListLeaderboard(
        self, request: pb.ListLeaderboardRequest, context: Context
    ) -> pb.ListLeaderboardResponse:
        capability = (
            parse_capability_name(request.capability, "capability") if request.capability else None
        )
        ranked, token = await self._service.leaderboard(
            request.page_size, request.page_token, capability
        )
        return convert.leaderboard_response(ranked, token)
