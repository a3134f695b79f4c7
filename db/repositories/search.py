"""SQL of SearchAgents and FindAgents: ranked, filtered keyset pages over agents.

Every value reaches Postgres as a bound parameter; query text only ever goes
through websearch_to_tsquery / plainto_tsquery, which treat `%`, `'`, `\\` and
`:*` as plain characters.

Shape of a page: an inner query picks (id, score, relevance, match count) of
the best `limit + 1` matches, using the GIN index on search_vector (or the
filter indexes) to find candidates; the outer query fetches the full rows of
those few ids by primary key, so descriptions and metadata of the thousands of
candidates that lose are never read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import AgentRow
from db.repositories.keyset import check_limit
from db.repositories.rows import AGENT_COLUMNS, AnyRow
from db.repositories.search_catalog import CatalogSearch
from db.repositories.search_filters import (
    RANK_NORMALISATION,
    FilterShape,
    after_cursor,
    blended,
    bound_values,
    filter_conditions,
    ranked_page,
    text_query,
    web_query,
)
from db.repositories.search_find import find_page
from db.repositories.search_hybrid import hybrid_page
from server.domain.search import (
    AgentFilter,
    MatchedCapability,
    Ranking,
    ScoreCursor,
    SearchPage,
    SemanticQuery,
)


@lru_cache(maxsize=512)
def _search_statement(
    shape: FilterShape, with_text: bool, with_cursor: bool, ranking: Ranking, any_word: bool
) -> Select[Any]:
    """Ids of the best `row_limit` matches (ranked, filtered), then their full rows.

    count(*) OVER () is nearly free: every candidate is scored for the sort anyway. It is
    exact on the first page; later pages repeat it from the cursor.
    """
    conditions = filter_conditions(shape, with_text=with_text)
    if with_text:
        query = text_query(bindparam("text", type_=Text), any_word)
        relevance: ColumnElement[Any] = func.ts_rank(
            AgentRow.search_vector, query, RANK_NORMALISATION
        )
        # querytree is 'T' when nothing in the query can use the index (only stop words
        # and exclusions): answer nothing rather than read every agent.
        conditions.append(func.querytree(query) != "T")
        conditions.append(AgentRow.search_vector.bool_op("@@")(query))
    else:
        relevance = literal_column("0.0")
    score = blended(relevance, ranking)
    if with_cursor:
        conditions.append(after_cursor(score, AgentRow.id))
    top = (
        select(
            AgentRow.id.label("id"),
            score.label("score"),
            cast(relevance, Float).label("relevance"),
            (literal_column("0") if with_cursor else func.count().over()).label("matches"),
        )
        .where(*conditions)
        .order_by(score.desc(), AgentRow.id)
        .limit(bindparam("row_limit", type_=Integer))
        .subquery("top")
    )
    return (
        select(*AGENT_COLUMNS, top.c.score, top.c.relevance, top.c.matches)
        .join(top, top.c.id == AgentRow.id)
        .order_by(top.c.score.desc(), top.c.id)
    )


def _all_words() -> Select[Any]:
    query = web_query(bindparam("text", type_=Text))
    matching = (
        select(AgentRow.id)
        .where(func.querytree(query) != "T", AgentRow.search_vector.bool_op("@@")(query))
        .limit(bindparam("enough", type_=Integer))
        .subquery("matching")
    )
    return select(func.count()).select_from(matching)


_ALL_WORDS = _all_words()


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
        any_word: bool = False,
    ) -> SearchPage:
        """Free text (optional) plus filters, best blended score first; with `any_word`,
        agents matching any of the text's words rank (see any_word_query)."""
        check_limit(limit)
        statement = _search_statement(
            FilterShape.of(search_filter), bool(text), cursor is not None, ranking, any_word
        )
        values = {**bound_values(search_filter, cursor, limit), "text": text}
        rows: Sequence[AnyRow] = (await self._conn.execute(statement, values)).all()
        total = cursor.total if cursor is not None else (rows[0].matches if rows else 0)
        return ranked_page(rows, limit, total)

    async def all_words_matches(self, text: str, enough: int) -> int:
        """How many agents match every word of `text` (web search syntax), counted up to
        `enough`: a GIN bitmap of the words' intersection, whatever the filters."""
        row = (await self._conn.execute(_ALL_WORDS, {"text": text, "enough": enough})).first()
        return int(row[0]) if row else 0

    async def hybrid(
        self,
        text: str,
        semantic: SemanticQuery,
        search_filter: AgentFilter,
        ranking: Ranking,
        limit: int,
        cursor: ScoreCursor | None,
        any_word: bool = False,
    ) -> SearchPage:
        """Text matches and nearest embeddings together (see db.repositories.search_hybrid)."""
        return await hybrid_page(
            self._conn, text, semantic, search_filter, ranking, limit, cursor, any_word
        )

    async def find(
        self,
        text: str,
        semantic: SemanticQuery | None,
        matched: Sequence[tuple[MatchedCapability, float]],
        search_filter: AgentFilter,
        ranking: Ranking,
        limit: int,
        cursor: ScoreCursor | None,
        any_word: bool = False,
    ) -> SearchPage:
        """The request ranked with understood capabilities as boosts (see
        db.repositories.search_find)."""
        return await find_page(
            self._conn, text, semantic, matched, search_filter, ranking, limit, cursor, any_word
        )


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
