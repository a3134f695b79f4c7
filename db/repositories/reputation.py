"""Reputation reads: what the trust job stored, by primary key or the score index.

Nothing here touches attestations, so a read costs the same at any graph size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models import AgentCapabilityRow, AgentRow, AgentTrustRow, CapabilityTrustRow, TrustRunRow
from db.repositories.keyset import check_limit
from db.repositories.rows import AGENT_COLUMNS, to_agent
from server.domain.agents import Agent, Page
from server.domain.attestations import CapabilityStanding, Reputation
from server.domain.errors import InvalidArgument

# Built once: constructing and cache-keying these selects costs more than running them.
STANDING = (
    select(
        AgentRow.trust_score,
        AgentRow.verified,
        AgentRow.created_at,
        AgentTrustRow.behaviour_average,
        AgentTrustRow.behaviour_claims,
        AgentTrustRow.distinct_attesters,
        AgentTrustRow.component_size,
        AgentTrustRow.component_seeded,
        AgentTrustRow.reachable_from_seed,
        AgentTrustRow.standing_score,
        AgentTrustRow.behaviour_score,
        AgentTrustRow.confidence,
        AgentTrustRow.attesters_with_standing,
        AgentTrustRow.top_contributors,
        AgentTrustRow.top_contributions,
        AgentTrustRow.rated,
        AgentTrustRow.standing_groups,
        AgentTrustRow.top_groups,
        AgentTrustRow.top_group_shares,
        AgentTrustRow.behaviour_raters,
        AgentTrustRow.behaviour_rater_weights,
        AgentTrustRow.flags,
        select(TrustRunRow.started_at)
        .order_by(TrustRunRow.id.desc())
        .limit(1)
        .scalar_subquery()
        .label("run_started_at"),
    )
    .outerjoin(AgentTrustRow, AgentTrustRow.agent_id == AgentRow.id)
    .where(AgentRow.id == bindparam("agent_id"), AgentRow.state != "taken_down")
)
CAPABILITIES = (
    select(
        CapabilityTrustRow.capability_id,
        CapabilityTrustRow.positive_claims,
        CapabilityTrustRow.negative_claims,
        CapabilityTrustRow.weighted_support,
        CapabilityTrustRow.verified,
        CapabilityTrustRow.supporting_groups,
    )
    .where(CapabilityTrustRow.agent_id == bindparam("agent_id"))
    .order_by(CapabilityTrustRow.capability_id)
)


async def read_reputation(
    executor: AsyncSession | AsyncConnection, agent_id: str
) -> Reputation | None:
    """Two primary-key reads plus the newest run; never touches attestations. In a
    session or on a plain connection (db.point_reads)."""
    key = {"agent_id": agent_id}
    row = (await executor.execute(STANDING, key)).one_or_none()
    if row is None:
        return None
    capabilities = (await executor.execute(CAPABILITIES, key)).all()
    return reputation_from(agent_id, row, capabilities)


def reputation_from(agent_id: str, row: Any, capabilities: Iterable[Any]) -> Reputation:
    """A reputation from the rows of STANDING and CAPABILITIES (any rows with their
    columns as attributes: SQLAlchemy's, or psycopg's named tuples in db.point_reads)."""
    standing = row.component_size is not None
    computed_at = row.run_started_at
    if computed_at is not None and computed_at < row.created_at:
        computed_at = None  # registered after the newest run: never computed
    return Reputation(
        agent_id=agent_id,
        trust_score=row.trust_score,
        behaviour_average=row.behaviour_average if standing else 0.0,
        behaviour_claims=row.behaviour_claims if standing else 0,
        distinct_attesters=row.distinct_attesters if standing else 0,
        component_size=row.component_size if standing else 1,
        component_seeded=row.component_seeded if standing else row.verified,
        reachable_from_seed=row.reachable_from_seed if standing else row.verified,
        capabilities=[
            CapabilityStanding(
                capability_id=c.capability_id,
                positive_claims=c.positive_claims,
                negative_claims=c.negative_claims,
                weighted_support=c.weighted_support,
                verified=c.verified,
                supporting_groups=c.supporting_groups,
            )
            for c in capabilities
        ],
        computed_at=computed_at,
        standing_score=row.standing_score if standing else (100.0 if row.verified else 0.0),
        behaviour_score=row.behaviour_score if standing else 50.0,
        confidence=row.confidence if standing else 0.0,
        attesters_with_standing=row.attesters_with_standing if standing else 0,
        top_contributors=tuple(
            zip(row.top_contributors or (), row.top_contributions or (), strict=False)
        ),
        # A verified agent is a seed: rated by an operator, whatever claims say.
        rated=bool(row.rated) if standing else row.verified,
        standing_groups=row.standing_groups if standing else 0,
        standing_sources=tuple(zip(row.top_groups or (), row.top_group_shares or (), strict=False)),
        behaviour_raters=tuple(
            zip(row.behaviour_raters or (), row.behaviour_rater_weights or (), strict=False)
        ),
        flags=tuple(row.flags or ()) if standing else (() if row.verified else ("UNRATED",)),
    )


class ReputationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, agent_id: str) -> Reputation | None:
        return await read_reputation(self._session, agent_id)

    async def leaderboard_page(
        self, limit: int, cursor: tuple[str, ...] | None, capability_id: str | None
    ) -> Page[tuple[int, Agent]]:
        """Score descending, id ascending: walks ix_agents_trust_score_id from the cursor.

        The cursor is (score, id, rank of the last row). `trust_score <= s` is the
        index bound; the OR only drops the already-returned part of a tie group.
        """
        check_limit(limit)
        query = select(*AGENT_COLUMNS).where(AgentRow.state == "active")
        first_rank = 1
        if cursor is not None:
            try:
                score, agent_id, rank = float(cursor[0]), cursor[1], int(cursor[2])
            except (ValueError, IndexError) as exc:
                raise InvalidArgument.field("page_token", "is not a token from this query") from exc
            first_rank = rank + 1
            query = query.where(
                AgentRow.trust_score <= score,
                or_(AgentRow.trust_score < score, AgentRow.id > agent_id),
            )
        if capability_id is not None:
            query = query.where(
                exists().where(
                    and_(
                        AgentCapabilityRow.agent_id == AgentRow.id,
                        AgentCapabilityRow.capability_id == capability_id,
                    )
                )
            )
        query = query.order_by(AgentRow.trust_score.desc(), AgentRow.id).limit(limit + 1)
        rows = (await self._session.execute(query)).all()
        kept = rows[:limit]
        items = [(first_rank + i, to_agent(row)) for i, row in enumerate(kept)]
        next_cursor = None
        if len(rows) > limit and kept:
            last = kept[-1]
            next_cursor = (repr(last.trust_score), last.id, str(first_rank + len(kept) - 1))
        return Page(items=items, next_cursor=next_cursor)
