"""ReputationService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc, resources_pb2

from server import method_policy
from server.cache import keys
from server.cache.responses import CachedResponses
from server.call import Call
from server.domain.names import parse_capability_name
from server.trust import convert
from server.trust.service import ReputationService

_GET_REPUTATION = method_policy.of("/agentregistry.v1.ReputationService/GetReputation")
_LEADERBOARD = method_policy.of("/agentregistry.v1.ReputationService/ListLeaderboard")


class ReputationServicer(attestation_service_pb2_grpc.ReputationServiceServicer):
    def __init__(self, service: ReputationService, responses: CachedResponses) -> None:
        self._service = service
        self._responses = responses

    async def GetReputation(
        self, request: pb.GetReputationRequest, call: Call
    ) -> resources_pb2.Reputation:
        agent_id = convert.parse_reputation_name(request.name, "name")

        async def build() -> resources_pb2.Reputation:
            return convert.reputation_to_proto(await self._service.get(agent_id))

        # Retired by the agent's own writes (verification, suspension, deletion) and by
        # every trust run, which rewrites scores, standing and the computed time.
        return await self._responses.serve(
            keys.response("reputation", agent_id),
            keys.generations(_GET_REPUTATION, agent_id),
            _GET_REPUTATION.cache_ttl_s,
            resources_pb2.Reputation,
            build,
            ticket=call.take_count(),
        )

    async def ListLeaderboard(
        self, request: pb.ListLeaderboardRequest, call: Call
    ) -> pb.ListLeaderboardResponse:
        capability = (
            parse_capability_name(request.capability, "capability") if request.capability else None
        )

        async def build() -> pb.ListLeaderboardResponse:
            ranked, token = await self._service.leaderboard(
                request.page_size, request.page_token, capability
            )
            return convert.leaderboard_response(ranked, token)

        # Scores change only when the trust job writes them; it bumps the generation then.
        return await self._responses.serve(
            keys.request_response("leaderboard", request),
            keys.generations(_LEADERBOARD),
            _LEADERBOARD.cache_ttl_s,
            pb.ListLeaderboardResponse,
            build,
            ticket=call.take_count(),
        )
