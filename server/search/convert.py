"""Pure conversions between search protos and search domain values."""

from __future__ import annotations

from collections.abc import Iterable

from agentregistry.v1 import search_service_pb2 as pb

from server.domain.agents import AgentStatus, AgentType
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.names import agent_name, capability_name, parse_capability_name
from server.domain.search import (
    AgentFilter,
    CapabilityMatch,
    FindResult,
    MatchReason,
    RegistryStats,
    SearchPage,
    Suggestion,
)
from server.domain.wire import STATUS_FROM_PROTO, type_from_proto
from server.registry.convert import agent_to_proto


def filter_from_proto(message: pb.AgentFilter) -> AgentFilter:
    """Unknown or UNSPECIFIED enum values are field violations, all reported together."""
    problems: list[FieldViolation] = []
    capabilities = []
    for i, name in enumerate(message.capabilities):
        try:
            capabilities.append(parse_capability_name(name, f"filter.capabilities[{i}]"))
        except InvalidArgument as exc:
            problems += exc.violations
    types: list[AgentType] = []
    for i, value in enumerate(message.types):
        agent_type = type_from_proto(value)
        if agent_type is None:
            problems.append(FieldViolation(f"filter.types[{i}]", "must be a known AgentType"))
        else:
            types.append(agent_type)
    statuses: list[AgentStatus] = []
    for i, status_value in enumerate(message.statuses):
        known = STATUS_FROM_PROTO.get(status_value)
        if known is None:
            problems.append(FieldViolation(f"filter.statuses[{i}]", "must be a known AgentStatus"))
        else:
            statuses.append(known)
    if problems:
        raise InvalidArgument(problems)
    match = (
        CapabilityMatch.ALL
        if message.capability_match == pb.AgentFilter.MATCH_ALL
        else CapabilityMatch.ANY
    )
    return AgentFilter(
        capabilities=tuple(capabilities),
        capability_match=match,
        types=tuple(types),
        protocols=tuple(message.protocols),
        tags=tuple(message.tags),
        statuses=tuple(statuses),
        min_trust_score=message.min_trust_score,
        verified_only=message.verified_only,
        domain_proven_only=message.domain_proven_only,
    )


_REASONS = {
    MatchReason.TEXT: pb.SearchResult.MATCH_REASON_TEXT,
    MatchReason.SEMANTIC: pb.SearchResult.MATCH_REASON_SEMANTIC,
    MatchReason.CAPABILITY: pb.SearchResult.MATCH_REASON_CAPABILITY,
}


def reasons_to_proto(reasons: Iterable[MatchReason]) -> list[pb.SearchResult.MatchReason]:
    """In enum order, as the proto documents."""
    return sorted(_REASONS[reason] for reason in reasons)


def results_to_proto(page: SearchPage) -> list[pb.SearchResult]:
    return [
        pb.SearchResult(
            agent=agent_to_proto(hit.agent),
            score=hit.score,
            text_rank=hit.text_rank,
            match_reasons=reasons_to_proto(hit.reasons),
            semantic_similarity=hit.similarity,
        )
        for hit in page.hits
    ]


def search_response(page: SearchPage, token: str) -> pb.SearchAgentsResponse:
    return pb.SearchAgentsResponse(
        results=results_to_proto(page),
        next_page_token=token,
        total_size_estimate=page.total_estimate,
        semantic_unavailable=not page.semantic_available,
    )


def suggest_response(suggestions: list[Suggestion]) -> pb.SuggestAgentsResponse:
    return pb.SuggestAgentsResponse(
        suggestions=[
            pb.Suggestion(
                agent=agent_name(s.agent_id), display_name=s.display_name, similarity=s.similarity
            )
            for s in suggestions
        ]
    )


def find_response(result: FindResult, token: str) -> pb.FindAgentsResponse:
    return pb.FindAgentsResponse(
        matched_capabilities=[
            pb.MatchedCapability(
                capability=capability_name(m.capability_id),
                confidence=m.confidence,
                match_reasons=reasons_to_proto(m.reasons),
            )
            for m in result.matched
        ],
        fell_back_to_text=result.fell_back_to_text,
        results=results_to_proto(result.page),
        next_page_token=token,
        semantic_unavailable=not result.page.semantic_available,
    )


_TYPE_NAMES = {t: f"AGENT_TYPE_{t.name}" for t in AgentType}
_STATUS_NAMES = {s: f"AGENT_STATUS_{s.name}" for s in AgentStatus}


def stats_to_proto(stats: RegistryStats) -> pb.RegistryStats:
    """Enum value names as keys (AGENT_TYPE_TOOL, AGENT_STATUS_ONLINE); zeros are included."""
    return pb.RegistryStats(
        total_agents=stats.total_agents,
        agents_by_type={name: stats.by_type.get(t.value, 0) for t, name in _TYPE_NAMES.items()},
        agents_by_status={
            name: stats.by_status.get(s.value, 0) for s, name in _STATUS_NAMES.items()
        },
        agents_by_capability={capability_name(c): n for c, n in stats.by_capability.items()},
    )
