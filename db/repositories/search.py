"""SQL of SearchAgents and FindAgents: ranked, filtered keyset pages over agents.

Every value reaches Postgres as a bound parameter; query text only ever goes
through websearch_to_tsquery / plainto_tsquery, which treat `%`, `'`, `\\` and
`:*` as plain characters.

Shape of a page: an inner query picks (id, score, text_rank, match count) of
the best `limit + 1` matches, using the GIN index on search_vector (or the
filter indexes) to find candidates; the outer query fetches the full rows of
those few ids by primary key, so descriptions and metadata of the thousands of
candidates that lose are never read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    SQLColumnExpression,
    Text,
    and_,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import AgentCapabilityRow, AgentRow
from db.repositories.keyset import check_limit
from db.repositories.rows import AGENT_COLUMNS, AnyRow, to_agent
from db.repositories.search_catalog import CatalogSearch
from db.repositories.search_find import find_page
from server.domain.search import (
    AgentFilter,
    CapabilityMatch,
    MatchedCapability,
    Ranking,
    ScoreCursor,
    SearchHit,
    SearchPage,
)

_ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")
# Normalisation 32: rank / (rank + 1), so relevance stays within 0..1. ts_rank rather
# than ts_rank_cd: ranking every match is the cost of a query, and it is about a third
# cheaper; cover density adds little for queries of a few words over short profiles.
_RANK_NORMALISATION = 32


def web_query(text: str) -> ColumnElement[Any]:
    """Web search syntax: "quoted phrases", `or`, `-excluded`; never raises on odd input."""
    return func.websearch_to_tsquery(_ENGLISH, text)


def filter_conditions(
    search_filter: AgentFilter, *, with_text: bool = False
) -> list[ColumnElement[bool]]:
    """Each filter can be served by an index: GIN on tags/protocols, btree on status and
    trust, agent_capabilities' primary key for capabilities.

    With text (or another index driving the query), protocols are checked per row
    instead: there are a handful of them, each on a large share of agents, and Postgres
    misjudges their GIN bitmap (40,000 entries at 100k agents, 15 ms) as cheaper than
    rechecking the few thousand text matches.
    """
    conditions: list[ColumnElement[bool]] = []
    if search_filter.capabilities:
        wanted = cast(list(search_filter.capabilities), ARRAY(Text))
        offered = (
            AgentCapabilityRow.agent_id == AgentRow.id,
            AgentCapabilityRow.capability_id == func.any(wanted),
        )
        if search_filter.capability_match is CapabilityMatch.ALL:
            count = select(func.count()).where(*offered).correlate(AgentRow).scalar_subquery()
            conditions.append(count == len(search_filter.capabilities))
        else:
            conditions.append(exists().where(*offered).correlate(AgentRow))
    if search_filter.types:
        conditions.append(AgentRow.agent_type.in_([t.value for t in search_filter.types]))
    if search_filter.protocols:
        wanted_protocols = cast(list(search_filter.protocols), ARRAY(Text))
        # array_cat(x, '{}') is x, but no index matches it.
        protocols = (
            func.array_cat(AgentRow.protocols, cast([], ARRAY(Text)))
            if with_text
            else AgentRow.protocols
        )
        conditions.append(protocols.op("&&")(wanted_protocols))
    if search_filter.tags:
        conditions.append(AgentRow.tags.contains(cast(list(search_filter.tags), ARRAY(Text))))
    if search_filter.statuses:
        # The stored status column; live presence flushes into it in bulk.
        conditions.append(AgentRow.status.in_([s.value for s in search_filter.statuses]))
    if search_filter.min_trust_score > 0:
        conditions.append(AgentRow.trust_score >= search_filter.min_trust_score)
    if search_filter.verified_only:
        conditions.append(AgentRow.verified.is_(True))
    return conditions


def blended(
    relevance: ColumnElement[Any],
    ranking: Ranking,
    trust_score: SQLColumnExpression[float] = AgentRow.trust_score,
    status: SQLColumnExpression[str] = AgentRow.status,
) -> ColumnElement[float]:
    online = cast(status == "online", Integer)
    return (
        cast(relevance, Float) * ranking.text
        + trust_score * (ranking.trust / 100.0)
        + online * ranking.online
    )


def _after(
    score: ColumnElement[float], agent_id: SQLColumnExpression[str], cursor: ScoreCursor | None
) -> list[ColumnElement[bool]]:
    if cursor is None:
        return []
    return [or_(score < cursor.score, and_(score == cursor.score, agent_id > cursor.agent_id))]


class SearchRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.catalog = CatalogSearch(conn)

    async def search(
        self,
        text: str,
        search_filter: AgentFilter,
        ranking: Ranking,
        limit: int,
        cursor: ScoreCursor | None,
    ) -> SearchPage:
        """Free text (optional) plus filters, best blended score first."""
        conditions = filter_conditions(search_filter, with_text=bool(text))
        if text:
            query = web_query(text)
            relevance: ColumnElement[Any] = func.ts_rank(
                AgentRow.search_vector, query, _RANK_NORMALISATION
            )
            # querytree is 'T' when nothing in the query can use the index (only stop words
            # and exclusions): answer nothing rather than read every agent.
            conditions.append(func.querytree(query) != "T")
            conditions.append(AgentRow.search_vector.bool_op("@@")(query))
        else:
            relevance = literal_column("0.0")
        score = blended(relevance, ranking)
        ranked = select(
            AgentRow.id.label("id"),
            score.label("score"),
            cast(relevance, Float).label("text_rank"),
        ).where(*conditions)
        return await self._page(ranked, score, AgentRow.id, limit, cursor)

    async def find_by_capabilities(
        self,
        matched: Sequence[MatchedCapability],
        search_filter: AgentFilter,
        ranking: Ranking,
        limit: int,
        cursor: ScoreCursor | None,
    ) -> SearchPage:
        """Agents offering any matched capability (see db.repositories.search_find)."""
        # The capability trust index drives here, as the text index does in search.
        conditions = filter_conditions(search_filter, with_text=True)
        return await find_page(self._conn, matched, conditions, ranking, limit, cursor)

    async def _page(
        self,
        ranked: Select[Any],
        score: ColumnElement[float],
        agent_id: SQLColumnExpression[str],
        limit: int,
        cursor: ScoreCursor | None,
    ) -> SearchPage:
        check_limit(limit)
        # count(*) OVER () is nearly free: every candidate is scored for the sort anyway.
        # It is exact on the first page; later pages repeat it from the cursor.
        counted = ranked.add_columns(
            (func.count().over() if cursor is None else literal_column("0")).label("matches")
        )
        top = (
            counted.where(*_after(score, agent_id, cursor))
            .order_by(score.desc(), agent_id)
            .limit(limit + 1)
            .subquery("top")
        )
        rows: Sequence[AnyRow] = (
            await self._conn.execute(
                select(*AGENT_COLUMNS, top.c.score, top.c.text_rank, top.c.matches)
                .join(top, top.c.id == AgentRow.id)
                .order_by(top.c.score.desc(), top.c.id)
            )
        ).all()
        total = cursor.total if cursor is not None else (rows[0].matches if rows else 0)
        kept = rows[:limit]
        hits = [SearchHit(to_agent(r), float(r.score), float(r.text_rank)) for r in kept]
        next_cursor = None
        if len(rows) > limit:
            last = kept[-1]
            next_cursor = ScoreCursor(float(last.score), last.id, total)
        return SearchPage(hits, next_cursor, total)


class SearchReads:
    """Opens a connection per call on the read replica engine when one is set.

    Plain connections (no ORM session: search maps rows itself) in autocommit: a
    search is one or two reads that need no common snapshot, so skipping BEGIN and
    ROLLBACK saves two round trips of the four a request would otherwise make.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[SearchRepository]:
        async with self._engine.connect() as conn:
            yield SearchRepository(conn)
