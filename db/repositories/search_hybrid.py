"""SQL of hybrid SearchAgents: full-text matches and nearest embeddings, ranked together.

Candidates are the union of the text matches (GIN on search_vector, as in plain
search) and the `semantic_candidates` agents nearest to the query's embedding
(HNSW on agent_embeddings, cosine), which carry their similarity out of the index
scan: no text match reads a vector, so a common word's thousands of matches cost
what they cost in text search. Each candidate's relevance joins its text
relevance t and its semantic relevance s (see Ranking; 0 outside the nearest) as
1 - (1 - t)(1 - s);
the score blends it with trust and the online bonus exactly as text search does,
so an agent with no vector scores as it would without semantic search.

Every input is a stored column or the bound query vector, so a row scores the same
on every page, and pages follow the same (score, id) keyset. The HNSW scan is
approximate but deterministic for one index state; an index change between two
pages can move an agent, like a trust change can.

Filters apply after the nearest-neighbour step, so a narrow filter may leave few of
the semantic candidates: text matches are never lost that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import AgentEmbeddingRow, AgentRow
from db.models.embeddings import DIMENSION
from db.repositories.keyset import check_limit
from db.repositories.rows import AGENT_COLUMNS, AnyRow
from db.repositories.search_filters import (
    RANK_NORMALISATION,
    FilterShape,
    after_cursor,
    blended,
    bound_values,
    filter_conditions,
    ranked_page,
    web_query,
)
from server.domain.search import AgentFilter, Ranking, ScoreCursor, SearchPage, SemanticQuery


def query_vector() -> ColumnElement[Any]:
    return bindparam("qvec", type_=Vector(DIMENSION))


@lru_cache(maxsize=512)
def _hybrid_statement(shape: FilterShape, with_cursor: bool, ranking: Ranking) -> Select[Any]:
    query = web_query(bindparam("text", type_=Text))
    vector = query_vector()
    matches = AgentRow.search_vector.bool_op("@@")(query)
    zero = literal_column("0.0", type_=Float)
    text_hits = select(AgentRow.id.label("id"), zero.label("similarity")).where(
        func.querytree(query) != "T", matches
    )
    distance = AgentEmbeddingRow.embedding.cosine_distance(vector)
    nearest = (
        select(AgentEmbeddingRow.agent_id.label("id"), (1 - distance).label("similarity"))
        .where(AgentEmbeddingRow.model_id == bindparam("model_id", type_=Text))
        .order_by(distance)
        .limit(bindparam("semantic_k", type_=Integer))
        .subquery("nearest")
    )
    both = union_all(text_hits, select(nearest.c.id, nearest.c.similarity)).subquery("both")
    candidates = (
        select(both.c.id, func.max(both.c.similarity).label("similarity"))
        .group_by(both.c.id)
        .subquery("candidates")
    )

    # The outer query has its own `q`; the candidates' one stays inside their subquery.
    outer_query = web_query(bindparam("text", type_=Text))
    outer_matches = AgentRow.search_vector.bool_op("@@")(outer_query)
    text_relevance = case(
        (outer_matches, func.ts_rank(AgentRow.search_vector, outer_query, RANK_NORMALISATION)),
        else_=literal_column("0.0"),
    )
    similarity = cast(candidates.c.similarity, Float)
    floor = ranking.semantic_floor
    semantic = func.greatest(literal_column("0.0"), (similarity - floor) / (1.0 - floor))
    relevance = 1.0 - (1.0 - cast(text_relevance, Float)) * (1.0 - cast(semantic, Float))
    score = blended(relevance, ranking)
    conditions = filter_conditions(shape, with_text=True)
    conditions.append(or_(outer_matches, similarity >= floor))
    if with_cursor:
        conditions.append(after_cursor(score, AgentRow.id))
    top = (
        select(
            AgentRow.id.label("id"),
            score.label("score"),
            cast(text_relevance, Float).label("relevance"),
            similarity.label("similarity"),
            (literal_column("0") if with_cursor else func.count().over()).label("matches"),
        )
        .select_from(AgentRow)
        .join(candidates, candidates.c.id == AgentRow.id)
        .where(*conditions)
        .order_by(score.desc(), AgentRow.id)
        .limit(bindparam("row_limit", type_=Integer))
        .subquery("top")
    )
    return (
        select(*AGENT_COLUMNS, top.c.score, top.c.relevance, top.c.similarity, top.c.matches)
        .join(top, top.c.id == AgentRow.id)
        .order_by(top.c.score.desc(), top.c.id)
    )


async def hybrid_page(
    conn: AsyncConnection,
    text: str,
    semantic: SemanticQuery,
    search_filter: AgentFilter,
    ranking: Ranking,
    limit: int,
    cursor: ScoreCursor | None,
) -> SearchPage:
    check_limit(limit)
    statement = _hybrid_statement(FilterShape.of(search_filter), cursor is not None, ranking)
    values = {
        **bound_values(search_filter, cursor, limit),
        "text": text,
        "qvec": list(semantic.vector),
        "model_id": semantic.model_id,
        "semantic_k": ranking.semantic_candidates,
    }
    rows: Sequence[AnyRow] = (await conn.execute(statement, values)).all()
    total = cursor.total if cursor is not None else (rows[0].matches if rows else 0)
    return ranked_page(rows, limit, total, semantic_floor=ranking.semantic_floor)
