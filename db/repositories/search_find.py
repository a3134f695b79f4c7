"""SQL of FindAgents' second step: agents offering the understood capabilities, best first.

Relevance here is per capability, so trust is too: an agent's score is the best,
over the matched capabilities it offers, of

    text * confidence(c) + trust * capability_trust(agent, c) / 100

plus the online bonus. Capability-level trust (kept by the trust job on
agent_capabilities) is what a request for a capability is about, and it is the
order of ix_agent_capabilities_capability_id_trust, which makes the top of the
list cheap to find exactly, however many agents offer the capability:

for each matched capability, walk that index (trust DESC) and keep the first
`limit + 1` agents that pass the filters and the page cursor, once over all
offerers and once over online ones. Every agent of the true top `limit + 1`
is in one of these short lists: an agent outside both has `limit + 1` others
with higher trust for its best capability and at least its online bonus, so
they all outrank it. The lists' union is ranked by the full score.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    join,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from db.models import AgentCapabilityRow, AgentRow
from db.repositories.keyset import check_limit
from db.repositories.rows import AGENT_COLUMNS
from db.repositories.search_filters import (
    FilterShape,
    after_cursor,
    bound_values,
    filter_conditions,
    ranked_page,
)
from server.domain.search import (
    AgentFilter,
    MatchedCapability,
    MatchReason,
    Ranking,
    ScoreCursor,
    SearchPage,
)


@lru_cache(maxsize=512)
def _find_statement(
    shape: FilterShape, matched: int, with_cursor: bool, ranking: Ranking
) -> Select[Any]:
    """The statement for `matched` capabilities (bound as m_ids, m_confidences, m_0 …)."""
    # unnest of two bound arrays rather than VALUES: the statement text stays the same for
    # every request with as many capabilities.
    table = (
        func.unnest(
            cast(bindparam("m_ids"), ARRAY(Text)),
            cast(bindparam("m_confidences"), ARRAY(Float)),
        )
        .table_valued("capability_id", "confidence")
        .render_derived(name="matched")
    )
    offered = aliased(AgentCapabilityRow)
    # The agent's own score and relevance: correlated, a few primary-key rows per agent.
    per_capability = (
        select(
            func.max(
                table.c.confidence * ranking.text + offered.trust * (ranking.trust / 100.0)
            ).label("best"),
            func.max(table.c.confidence).label("confidence"),
        )
        .select_from(join(offered, table, table.c.capability_id == offered.capability_id))
        .where(offered.agent_id == AgentRow.id)
        .correlate(AgentRow)
    )
    best = per_capability.with_only_columns(per_capability.selected_columns.best)
    score = best.scalar_subquery() + cast(AgentRow.status == "online", Integer) * ranking.online
    confidence = per_capability.with_only_columns(
        per_capability.selected_columns.confidence
    ).scalar_subquery()
    # The capability trust index drives here, as the text index does in search.
    conditions = filter_conditions(shape, with_text=True)
    if with_cursor:
        conditions.append(after_cursor(score, AgentRow.id))
    row_limit = bindparam("row_limit", type_=Integer)
    branches = []
    for i in range(matched):
        for online_only in (False, True):
            link = aliased(AgentCapabilityRow)
            branch = (
                select(AgentRow.id.label("id"), score.label("score"), confidence.label("relevance"))
                .select_from(join(link, AgentRow, AgentRow.id == link.agent_id))
                .where(link.capability_id == bindparam(f"m_{i}", type_=Text), *conditions)
                .order_by(link.trust.desc(), link.agent_id)
                .limit(row_limit)
            )
            if online_only:
                branch = branch.where(AgentRow.status == "online")
            branches.append(branch)
    candidates = union_all(*branches).subquery("candidates")
    top = (
        select(candidates.c.id, candidates.c.score, candidates.c.relevance)
        .distinct()
        .order_by(candidates.c.score.desc(), candidates.c.id)
        .limit(row_limit)
        .subquery("top")
    )
    return (
        select(*AGENT_COLUMNS, top.c.score, top.c.relevance)
        .join(top, top.c.id == AgentRow.id)
        .order_by(top.c.score.desc(), top.c.id)
    )


async def find_page(
    conn: AsyncConnection,
    matched: Sequence[MatchedCapability],
    search_filter: AgentFilter,
    ranking: Ranking,
    limit: int,
    cursor: ScoreCursor | None,
) -> SearchPage:
    check_limit(limit)
    statement = _find_statement(
        FilterShape.of(search_filter), len(matched), cursor is not None, ranking
    )
    values = {
        **bound_values(search_filter, cursor, limit),
        **{f"m_{i}": m.capability_id for i, m in enumerate(matched)},
        "m_ids": [m.capability_id for m in matched],
        "m_confidences": [m.confidence for m in matched],
    }
    rows = (await conn.execute(statement, values)).all()
    return ranked_page(rows, limit, 0, reasons=(MatchReason.CAPABILITY,))
