"""SQL of FindAgents' second step: the request ranked like a search, with understood
capabilities as a boost rather than a filter.

An agent's relevance to the request is its own, as in hybrid search: text relevance t
and semantic relevance s joined as 1 - (1 - t)(1 - s). Offering an understood
capability c adds the service's boost b(c) (its confidence, weighted) the same way,
and makes the agent's trust for that capability the trust that counts:

    per c offered:  text * (1 - (1 - t)(1 - s)(1 - b(c))) + trust * capability_trust(c) / 100
    score = (best of those, or text * (1 - (1 - t)(1 - s)) + trust * trust_score / 100
             for an agent offering none) + online * (status = 'online')

So among the offerers of one capability their own wording and meaning rank them, then
trust; and a capability understood wrongly lifts its offerers without hiding the agents
the request itself matches.

Candidates: every text match, the nearest embeddings (as in hybrid search), and for each
understood capability the first `limit + 1` offerers passing the filters and the page
cursor along ix_agent_capabilities_capability_id_trust (trust DESC), once over all and
once over online ones. That is exact: an agent that is neither a text match nor among
the nearest has t = s = 0, and if it is outside both walks of each capability it offers,
`limit + 1` others with at least its boost, capability trust and online bonus outrank it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    exists,
    func,
    join,
    literal_column,
    outerjoin,
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
    RANK_NORMALISATION,
    FilterShape,
    after_cursor,
    bound_values,
    filter_conditions,
    query_value,
    ranked_page,
    text_query,
)
from db.repositories.search_hybrid import nearest_agents, ranked_columns, semantic_relevance
from server.domain.search import (
    AgentFilter,
    MatchedCapability,
    Ranking,
    ScoreCursor,
    SearchPage,
    SemanticQuery,
)

_ZERO = literal_column("0.0", type_=Float)


def _matched() -> Any:
    # unnest of two bound arrays rather than VALUES: the statement text stays the same for
    # every request with as many capabilities.
    return (
        func.unnest(
            cast(bindparam("m_ids"), ARRAY(Text)),
            cast(bindparam("m_boosts"), ARRAY(Float)),
        )
        .table_valued("capability_id", "boost")
        .render_derived(name="matched")
    )


@lru_cache(maxsize=512)
def _find_statement(
    shape: FilterShape,
    matched: int,
    with_cursor: bool,
    ranking: Ranking,
    semantic: bool,
    any_word: bool,
) -> Select[Any]:
    """The statement for `matched` capabilities (bound as m_ids, m_boosts, m_0 …)."""
    nearest = nearest_agents(ranking) if semantic else None
    conditions = filter_conditions(shape, with_text=True)
    row_limit = bindparam("row_limit", type_=Integer)

    def branch(source: Any, text_match: bool | None, *where: ColumnElement[bool]) -> Select[Any]:
        """Candidates from `source` (agents joined to what finds them), fully scored; only
        text matches, or only others, when `text_match` says so."""
        text = bindparam("text", type_=Text)
        # A FROM item where the query finds the rows, else a value (see web_query).
        query = query_value(text, any_word) if text_match is None else text_query(text, any_word)
        matches = AgentRow.search_vector.bool_op("@@")(query)
        if text_match:
            where = (*where, func.querytree(query) != "T", matches)
        elif text_match is not None:
            where = (*where, ~matches)
        text_relevance = cast(
            func.ts_rank(AgentRow.search_vector, query, RANK_NORMALISATION), Float
        )
        similarity: ColumnElement[float] = _ZERO
        if nearest is not None:
            source = outerjoin(source, nearest, nearest.c.id == AgentRow.id)
            similarity = cast(func.coalesce(nearest.c.similarity, _ZERO), Float)
        own = 1.0 - (1.0 - text_relevance) * (1.0 - semantic_relevance(similarity, ranking))
        capabilities = _matched()
        offered = aliased(AgentCapabilityRow)
        # Correlated (agents, the query and the nearest come from the branch): a few
        # primary-key rows of agent_capabilities per candidate.
        per_capability = (
            select(
                func.max(
                    ranking.text * (1.0 - (1.0 - own) * (1.0 - capabilities.c.boost))
                    + offered.trust * (ranking.trust / 100.0)
                )
            )
            .select_from(
                join(offered, capabilities, capabilities.c.capability_id == offered.capability_id)
            )
            .where(offered.agent_id == AgentRow.id)
            .scalar_subquery()
        )
        plain = ranking.text * own + AgentRow.trust_score * (ranking.trust / 100.0)
        score = (
            func.coalesce(per_capability, plain)
            + cast(AgentRow.status == "online", Integer) * ranking.online
        )
        where_all = [*where, *conditions]
        if with_cursor:
            where_all.append(after_cursor(score, AgentRow.id))
        columns = ranked_columns(cast(score, Float), text_relevance, similarity)
        return select(*columns).select_from(source).where(*where_all)

    branches = [branch(AgentRow, True)]
    if nearest is not None:
        # Outer-joined in the branch; the floor makes it the nearest few only.
        branches.append(branch(AgentRow, False, nearest.c.similarity >= ranking.semantic_floor))
    for i in range(matched):
        for online_only in (False, True):
            link = aliased(AgentCapabilityRow)
            walk = branch(
                join(link, AgentRow, AgentRow.id == link.agent_id),
                None,
                link.capability_id == bindparam(f"m_{i}", type_=Text),
                *((AgentRow.status == "online",) if online_only else ()),
            )
            branches.append(walk.order_by(link.trust.desc(), link.agent_id).limit(row_limit))
    candidates = union_all(*branches).subquery("candidates")
    top = (
        select(*candidates.c)
        .distinct()
        .order_by(candidates.c.score.desc(), candidates.c.id)
        .limit(row_limit)
        .subquery("top")
    )
    return (
        select(
            *AGENT_COLUMNS,
            top.c.score,
            top.c.relevance,
            top.c.similarity,
            # Asked of the page's few rows only, not of every candidate.
            exists()
            .where(
                AgentCapabilityRow.agent_id == top.c.id,
                AgentCapabilityRow.capability_id == func.any(cast(bindparam("m_ids"), ARRAY(Text))),
            )
            .label("capability"),
        )
        .join(top, top.c.id == AgentRow.id)
        .order_by(top.c.score.desc(), top.c.id)
    )


async def find_page(
    conn: AsyncConnection,
    text: str,
    semantic: SemanticQuery | None,
    matched: Sequence[tuple[MatchedCapability, float]],
    search_filter: AgentFilter,
    ranking: Ranking,
    limit: int,
    cursor: ScoreCursor | None,
    any_word: bool,
) -> SearchPage:
    """`matched`: each understood capability with its boost (0 to 1)."""
    check_limit(limit)
    statement = _find_statement(
        FilterShape.of(search_filter),
        len(matched),
        cursor is not None,
        ranking,
        semantic is not None,
        any_word,
    )
    values: dict[str, Any] = {
        **bound_values(search_filter, cursor, limit),
        **{f"m_{i}": m.capability_id for i, (m, _) in enumerate(matched)},
        "m_ids": [m.capability_id for m, _ in matched],
        "m_boosts": [boost for _, boost in matched],
        "text": text,
    }
    if semantic is not None:
        values |= {"qvec": list(semantic.vector), "model_id": semantic.model_id}
    rows = (await conn.execute(statement, values)).all()
    return ranked_page(rows, limit, 0, semantic_floor=ranking.semantic_floor, by_capability=True)
