"""Pure conversions between protos and registry domain objects."""

from __future__ import annotations

from typing import Any

from agentregistry.v1 import registry_service_pb2, resources_pb2
from google.protobuf.message import Message

from server.domain.agents import (
    Agent,
    AgentProfile,
    AgentState,
    Capability,
)
from server.domain.names import agent_name, capability_name, parse_capability_name
from server.domain.wire import status_to_proto, timestamp, type_from_proto, type_to_proto
from server.registry.etag import agent_etag

_STATE_TO_PROTO: dict[AgentState, resources_pb2.AgentState] = {
    AgentState.ACTIVE: resources_pb2.AGENT_STATE_ACTIVE,
    AgentState.SUSPENDED: resources_pb2.AGENT_STATE_SUSPENDED,
    AgentState.TAKEN_DOWN: resources_pb2.AGENT_STATE_TAKEN_DOWN,
}


def profile_from_proto(agent: resources_pb2.Agent) -> AgentProfile:
    return AgentProfile(
        display_name=agent.display_name,
        agent_type=type_from_proto(agent.type),
        description=agent.description,
        endpoint_uri=agent.endpoint_uri,
        tags=tuple(agent.tags),
        protocols=tuple(agent.protocols),
        metadata=dict(agent.metadata),
    )


def profile_changes(agent: resources_pb2.Agent) -> dict[str, Any]:
    """Every updatable field, keyed by its proto name; the mask picks among them."""
    profile = profile_from_proto(agent)
    return {
        "display_name": profile.display_name,
        "description": profile.description,
        "type": profile.agent_type,
        "endpoint_uri": profile.endpoint_uri,
        "tags": profile.tags,
        "protocols": profile.protocols,
        "metadata": profile.metadata,
    }


def populated_fields(message: Message) -> list[str]:
    """Names of the fields set in `message` (non-default scalars, non-empty lists and maps,
    present messages): what an Update without update_mask changes (AIP-134)."""
    return [field.name for field, _ in message.ListFields()]


def capability_ids(names: list[str] | Any, field: str) -> list[str]:
    return [parse_capability_name(name, f"{field}[{i}]") for i, name in enumerate(names)]


def agent_to_proto(agent: Agent) -> resources_pb2.Agent:
    profile = agent.profile
    message = resources_pb2.Agent(
        name=agent_name(agent.agent_id),
        display_name=profile.display_name,
        description=profile.description,
        type=type_to_proto(profile.agent_type)
        if profile.agent_type
        else resources_pb2.AGENT_TYPE_UNSPECIFIED,
        endpoint_uri=profile.endpoint_uri,
        public_key=agent.public_key,
        tags=profile.tags,
        protocols=profile.protocols,
        capabilities=[capability_name(c) for c in agent.capabilities],
        metadata=profile.metadata,
        status=status_to_proto(agent.status),
        trust_score=agent.trust_score,
        verified=agent.verified,
        key_version=agent.key_version,
        create_time=timestamp(agent.created_at),
        update_time=timestamp(agent.updated_at),
        etag=agent_etag(agent),
        state=_STATE_TO_PROTO[agent.state],
        domain=agent.domain,
    )
    if agent.last_seen_at is not None:
        message.last_seen_time.CopyFrom(timestamp(agent.last_seen_at))
    if agent.domain_verified_at is not None:
        message.domain_verify_time.CopyFrom(timestamp(agent.domain_verified_at))
    return message


def capability_to_proto(capability: Capability) -> resources_pb2.Capability:
    return resources_pb2.Capability(
        name=capability_name(capability.capability_id),
        display_name=capability.display_name,
        description=capability.description,
        synonyms=capability.synonyms,
        agent_count=capability.agent_count,
    )


def list_agents_response(
    agents: list[Agent], token: str
) -> registry_service_pb2.ListAgentsResponse:
    return registry_service_pb2.ListAgentsResponse(
        agents=[agent_to_proto(a) for a in agents], next_page_token=token
    )
