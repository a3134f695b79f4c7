"""Row -> domain conversions and the column lists the queries select."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Row, func, select

from db.models import AgentCapabilityRow, AgentRow, CapabilityRow
from server.domain.agents import (
    Agent,
    AgentProfile,
    AgentState,
    AgentStatus,
    AgentType,
    Capability,
)
from server.domain.errors import InvalidArgument

AnyRow: TypeAlias = Row[*tuple[Any, ...]]

# Correlated subquery served by the agent_capabilities primary key (agent_id, capability_id).
_CAPABILITY_IDS = (
    select(func.array_agg(AgentCapabilityRow.capability_id))
    .where(AgentCapabilityRow.agent_id == AgentRow.id)
    .correlate(AgentRow)
    .scalar_subquery()
    .label("capability_ids")
)

# Everything but search_vector, which is only read by search queries.
AGENT_COLUMNS = (
    AgentRow.id,
    AgentRow.display_name,
    AgentRow.description,
    AgentRow.agent_type,
    AgentRow.endpoint_uri,
    AgentRow.public_key,
    AgentRow.tags,
    AgentRow.protocols,
    AgentRow.metadata_.label("metadata_"),
    AgentRow.status,
    AgentRow.last_seen_at,
    AgentRow.trust_score,
    AgentRow.verified,
    AgentRow.key_version,
    AgentRow.created_at,
    AgentRow.updated_at,
    AgentRow.state,
    AgentRow.domain,
    AgentRow.domain_verified_at,
    _CAPABILITY_IDS,
)

CAPABILITY_COLUMNS = (
    CapabilityRow.id,
    CapabilityRow.display_name,
    CapabilityRow.description,
    CapabilityRow.synonyms,
    CapabilityRow.agent_count,
)


def profile_values(profile: AgentProfile) -> dict[str, Any]:
    """Column values for the fields an agent controls."""
    if profile.agent_type is None:
        # The CHECK constraint would refuse it anyway; say which field is wrong.
        raise InvalidArgument.field("type", "must be set")
    return {
        "display_name": profile.display_name,
        "description": profile.description,
        "agent_type": profile.agent_type.value,
        "endpoint_uri": profile.endpoint_uri,
        "tags": list(profile.tags),
        "protocols": list(profile.protocols),
        "metadata_": dict(profile.metadata),
    }


def to_agent(row: Any) -> Agent:
    """From any row with AGENT_COLUMNS as attributes (SQLAlchemy's, or psycopg's named
    tuples in db.point_reads)."""
    return Agent(
        agent_id=row.id,
        profile=AgentProfile(
            display_name=row.display_name,
            agent_type=AgentType(row.agent_type),
            description=row.description,
            endpoint_uri=row.endpoint_uri,
            tags=tuple(row.tags),
            protocols=tuple(row.protocols),
            metadata={str(k): str(v) for k, v in row.metadata_.items()},
        ),
        public_key=bytes(row.public_key),
        capabilities=tuple(sorted(row.capability_ids or ())),
        status=AgentStatus(row.status),
        last_seen_at=row.last_seen_at,
        trust_score=row.trust_score,
        verified=row.verified,
        key_version=row.key_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        state=AgentState(row.state),
        domain=row.domain or "",
        domain_verified_at=row.domain_verified_at,
    )


def agent_cursor(row: AnyRow) -> tuple[str, ...]:
    return (row.created_at.isoformat(), row.id)


def to_capability(row: AnyRow) -> Capability:
    return Capability(
        capability_id=row.id,
        display_name=row.display_name,
        description=row.description,
        synonyms=tuple(row.synonyms),
        agent_count=row.agent_count,
    )
