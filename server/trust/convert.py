"""Pure conversions of reputation domain objects to protos."""

from __future__ import annotations

from agentregistry.v1 import attestation_service_pb2, resources_pb2

from server.domain.agents import Agent
from server.domain.attestations import Reputation
from server.domain.errors import InvalidArgument
from server.domain.ids import AGENT_ID
from server.domain.names import agent_name, capability_name
from server.domain.wire import timestamp
from server.registry.convert import agent_to_proto

_SUFFIX = "/reputation"


def parse_reputation_name(name: str, field: str) -> str:
    agent_id = name.removeprefix("agents/").removesuffix(_SUFFIX)
    if not (name.startswith("agents/") and name.endswith(_SUFFIX) and AGENT_ID.fullmatch(agent_id)):
        raise InvalidArgument.field(field, "must be agents/{agent_id}/reputation")
    return agent_id


def reputation_to_proto(reputation: Reputation) -> resources_pb2.Reputation:
    message = resources_pb2.Reputation(
        name=agent_name(reputation.agent_id) + _SUFFIX,
        trust_score=reputation.trust_score,
        behaviour_average=reputation.behaviour_average,
        behaviour_claims=reputation.behaviour_claims,
        distinct_attesters=reputation.distinct_attesters,
        component_size=reputation.component_size,
        component_seeded=reputation.component_seeded,
        reachable_from_seed=reputation.reachable_from_seed,
        standing_score=reputation.standing_score,
        behaviour_score=reputation.behaviour_score,
        confidence=reputation.confidence,
        attesters_with_standing=reputation.attesters_with_standing,
        top_contributors=[
            resources_pb2.ReputationContributor(agent=agent_name(agent_id), share=share)
            for agent_id, share in reputation.top_contributors
        ],
        capabilities=[
            resources_pb2.CapabilityTrust(
                capability=capability_name(c.capability_id),
                positive_claims=c.positive_claims,
                negative_claims=c.negative_claims,
                weighted_support=c.weighted_support,
                verified=c.verified,
                supporting_groups=c.supporting_groups,
            )
            for c in reputation.capabilities
        ],
        rated=reputation.rated,
        standing_groups=reputation.standing_groups,
        standing_sources=[
            resources_pb2.StandingSource(seed_group=group, share=share)
            for group, share in reputation.standing_sources
        ],
        behaviour_raters=[
            resources_pb2.BehaviourRater(agent=agent_name(agent_id), weight=weight)
            for agent_id, weight in reputation.behaviour_raters
        ],
        flags=[f"REPUTATION_FLAG_{flag}" for flag in reputation.flags],
    )
    if reputation.computed_at is not None:
        message.compute_time.CopyFrom(timestamp(reputation.computed_at))
    return message


def leaderboard_response(
    ranked: list[tuple[int, Agent]], token: str
) -> attestation_service_pb2.ListLeaderboardResponse:
    return attestation_service_pb2.ListLeaderboardResponse(
        agents=[
            resources_pb2.RankedAgent(rank=rank, agent=agent_to_proto(agent))
            for rank, agent in ranked
        ],
        next_page_token=token,
    )
