"""SQL of hybrid SearchAgents: full-text matches and nearest embeddings, ranked together.

The candidates are the text matches (GIN on search_vector, as in text search) and
the `semantic_candidates` agents nearest to the query's embedding (HNSW on
agent_embeddings, cosine; a CTE, scanned once), which carry their similarity out
of the index scan: no text match reads a vector, and a common word's thousands of
matches cost what they cost in text search plus a hash join with a few dozen rows.
Each candidate's relevance joins its text relevance t and its semantic relevance
s (see Ranking; 0 outside the nearest) as 1 - (1 - t)(1 - s); the score blends it
with trust and the online bonus exactly as text search does, so an agent with no
vector scores as it would without semantic search.

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
    CTE,
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
    text_query,
)
from server.domain.search import AgentFilter, Ranking, ScoreCursor, SearchPage, SemanticQuery


def query_vector() -> ColumnElement[Any]:
    return bindparam("qvec", type_=Vector(DIMENSION))


def semantic_relevance(similarity: ColumnElement[float], ranking: Ranking) -> ColumnElement[float]:
    """(similarity - floor) / (1 - floor), 0 below the floor."""
    floor = ranking.semantic_floor
    return cast(func.greatest(literal_column("0.0"), (similarity - floor) / (1.0 - floor)), Float)


def nearest_agents(ranking: Ranking) -> CTE:
    """(id, similarity) of the agents nearest to the bound query vector (HNSW, cosine)."""
    distance = AgentEmbeddingRow.embedding.cosine_distance(query_vector())
    return (
        select(AgentEmbeddingRow.agent_id.label("id"), (1 - distance).label("similarity"))
        .where(AgentEmbeddingRow.model_id == bindparam("model_id", type_=Text))
        .order_by(distance)
        # Written into the statement: bound, a generic plan would guess thousands of
        # rows and scan agents to join them instead of looking a few dozen up.
        .limit(literal_column(str(int(ranking.semantic_candidates))))
        .cte("nearest")
    )


def ranked_columns(
    score: ColumnElement[Any], relevance: ColumnElement[Any], similarity: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    """(id, score, relevance, similarity): what a branch of ranked candidates yields."""
    return [
        AgentRow.id.label("id"),
        score.label("score"),
        relevance.label("relevance"),
        similarity.label("similarity"),
    ]


@lru_cache(maxsize=512)
def _hybrid_statement(
    shape: FilterShape, with_cursor: bool, ranking: Ranking, any_word: bool
) -> Select[Any]:
    """Two disjoint branches, each ranked in the pass that finds it: the text matches
    (the text search's bitmap scan, hash-joined to the nearest few for their similarity)
    and the nearest that match no word (a primary-key lookup each)."""
    nearest = nearest_agents(ranking)
    conditions = filter_conditions(shape, with_text=True)

    query = text_query(bindparam("text", type_=Text), any_word)
    text_relevance = cast(func.ts_rank(AgentRow.search_vector, query, RANK_NORMALISATION), Float)
    similarity = cast(func.coalesce(nearest.c.similarity, literal_column("0.0")), Float)
    relevance = 1.0 - (1.0 - text_relevance) * (1.0 - semantic_relevance(similarity, ranking))
    text_branch = (
        select(*ranked_columns(blended(relevance, ranking), text_relevance, similarity))
        .select_from(AgentRow)
        .outerjoin(nearest, nearest.c.id == AgentRow.id)
        .where(
            func.querytree(query) != "T", AgentRow.search_vector.bool_op("@@")(query), *conditions
        )
    )
    # Its own `q`: a FROM item is not shared between the branches.
    other_query = text_query(bindparam("text", type_=Text), any_word)
    near = cast(nearest.c.similarity, Float)
    semantic_branch = (
        select(
            AgentRow.id.label("id"),
            blended(semantic_relevance(near, ranking), ranking).label("score"),
            literal_column("0.0", type_=Float).label("relevance"),
            near.label("similarity"),
        )
        .select_from(nearest)
        .join(AgentRow, AgentRow.id == nearest.c.id)
        .where(
            near >= ranking.semantic_floor,
            ~AgentRow.search_vector.bool_op("@@")(other_query),
            *conditions,
        )
    )
    ranked = union_all(text_branch, semantic_branch).subquery("ranked")
    page_conditions = [after_cursor(ranked.c.score, ranked.c.id)] if with_cursor else []
    top = (
        select(
            ranked.c.id,
            ranked.c.score,
            ranked.c.relevance,
            ranked.c.similarity,
            (literal_column("0") if with_cursor else func.count().over()).label("matches"),
        )
        .where(*page_conditions)
        .order_by(ranked.c.score.desc(), ranked.c.id)
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
    any_word: bool = False,
) -> SearchPage:
    check_limit(limit)
    statement = _hybrid_statement(
        FilterShape.of(search_filter), cursor is not None, ranking, any_word
    )
    values = {
        **bound_values(search_filter, cursor, limit),
        "text": text,
        "qvec": list(semantic.vector),
        "model_id": semantic.model_id,
    }
    rows: Sequence[AnyRow] = (await conn.execute(statement, values)).all()
    total = cursor.total if cursor is not None else (rows[0].matches if rows else 0)
    return ranked_page(rows, limit, total, semantic_floor=ranking.semantic_floor)
