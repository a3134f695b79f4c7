"""SQL of typeahead's names and trigram matches, catalog matching, agents by capability
and registry statistics."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import (
    AgentCapabilityRow,
    AgentCountRow,
    AgentRow,
    CapabilityEmbeddingRow,
    CapabilityRow,
)
from db.models.embeddings import DIMENSION
from db.repositories.keyset import check_limit
from db.repositories.rows import AGENT_COLUMNS, to_agent
from db.repositories.search_filters import ENGLISH
from server.domain.agents import Agent, Page
from server.domain.search import (
    CapabilityCandidate,
    CapabilityNeighbour,
    RegistryStats,
    SemanticQuery,
    Suggestion,
)

# pg_trgm's word similarity: how well the typed text matches some run of words in the
# name. 0.6 tolerates one wrong letter in a 5-6 letter word and keeps candidate sets small.
# It is pg_trgm's default word_similarity_threshold, which the `<%` index operator uses;
# the explicit check keeps it if a server is configured otherwise.
FUZZY_THRESHOLD = 0.6
FUZZY_CANDIDATES = 200

# Ranked among at most FUZZY_CANDIDATES similar names: a short prefix with a typo
# ("silve c") is similar to thousands of names, and ranking them all costs tens of
# milliseconds per keystroke. Exact whenever fewer names are similar.
_SIMILAR_NAMES = text(
    "SELECT id, display_name, similarity FROM (SELECT id, display_name,"
    "  word_similarity(:prefix, lower(display_name)) AS similarity FROM agents"
    "  WHERE :prefix <% lower(display_name) AND id <> ALL(CAST(:found AS text[]))"
    "  LIMIT :candidates) candidates"
    " WHERE similarity >= :threshold ORDER BY similarity DESC, id LIMIT :limit"
)
_AGENT_NAMES = text("SELECT id, display_name FROM agents")
_NAMES_OF = text("SELECT id, display_name FROM agents WHERE id = ANY(CAST(:ids AS text[]))")


def or_query(text_value: str | ColumnElement[str]) -> ColumnElement[Any]:
    """Any of the words of a plain-language request, stemmed and without stop words.

    plainto_tsquery yields `'a' & 'b'`; lexemes are quoted and never contain spaces,
    so turning ` & ` into ` | ` is exact. An empty result (only stop words) matches nothing.
    """
    anded = func.plainto_tsquery(ENGLISH, text_value)
    return func.replace(cast(anded, Text), " & ", " | ")


class CatalogSearch:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def similar_names(self, prefix: str, found: list[str], limit: int) -> list[Suggestion]:
        """Names with a run of words like the prefix (trigram index), besides `found`:
        typeahead's answer to typos that no one-edit prefix explains."""
        rows = await self._conn.execute(
            _SIMILAR_NAMES,
            {
                "prefix": prefix,
                "found": found,
                "threshold": FUZZY_THRESHOLD,
                "candidates": FUZZY_CANDIDATES,
                "limit": limit,
            },
        )
        return [Suggestion(r.id, r.display_name, float(r.similarity)) for r in rows]

    async def agent_names(self) -> list[tuple[str, str]]:
        """(id, display name) of every agent: what typeahead's index is built from."""
        return [(r.id, r.display_name) for r in await self._conn.execute(_AGENT_NAMES)]

    async def names_of(self, agent_ids: list[str]) -> list[tuple[str, str]]:
        rows = await self._conn.execute(_NAMES_OF, {"ids": agent_ids})
        return [(r.id, r.display_name) for r in rows]

    async def capability_candidates(self, request: str) -> list[CapabilityCandidate]:
        """Catalog entries sharing any word with the request, by ts_rank (names weigh most,
        then synonyms, then descriptions). The catalog is small; the GIN index serves it."""
        rows = await self._conn.execute(_CANDIDATES, {"request": request})
        return [CapabilityCandidate(r.id, float(r.rank)) for r in rows]

    async def capability_neighbours(
        self, semantic: SemanticQuery, limit: int
    ) -> list[CapabilityNeighbour]:
        """The catalog entries nearest to the query's embedding, by cosine similarity.
        A few dozen rows: an exact scan is cheaper than any index."""
        rows = await self._conn.execute(
            _NEIGHBOURS,
            {"qvec": list(semantic.vector), "model_id": semantic.model_id, "limit": limit},
        )
        return [CapabilityNeighbour(r.capability_id, float(r.similarity)) for r in rows]

    async def capability_exists(self, capability_id: str) -> bool:
        row = await self._conn.execute(select(literal(1)).where(CapabilityRow.id == capability_id))
        return row.first() is not None

    async def capability_agents(
        self,
        capability_id: str,
        verified_only: bool,
        limit: int,
        cursor: tuple[float, str] | None,
    ) -> Page[tuple[Agent, float]]:
        """Most trusted for the capability first, straight off
        ix_agent_capabilities_capability_id_trust (capability_id, trust DESC, agent_id)."""
        check_limit(limit)
        values: dict[str, Any] = {"capability_id": capability_id, "row_limit": limit + 1}
        if cursor is not None:
            values |= {"after_trust": cursor[0], "after_id": cursor[1]}
        statement = _capability_agents(verified_only, cursor is not None)
        rows = (await self._conn.execute(statement, values)).all()
        kept = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            next_cursor = (repr(float(kept[-1].capability_trust)), kept[-1].id)
        return Page([(to_agent(r), float(r.capability_trust)) for r in kept], next_cursor)

    async def stats(self) -> RegistryStats:
        """From the agent_counts counters (kept by triggers) and capabilities.agent_count:
        a few hundred small rows, whatever the number of agents, in one round trip."""
        by_type: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_capability: dict[str, int] = {}
        for kind, key, status, n in await self._conn.execute(_STATS):
            if kind == "capability":
                by_capability[key] = int(n)
                continue
            by_type[key] = by_type.get(key, 0) + int(n)
            by_status[status] = by_status.get(status, 0) + int(n)
        return RegistryStats(
            total_agents=sum(by_type.values()),
            by_type=by_type,
            by_status=by_status,
            by_capability=by_capability,
        )


def _candidates() -> Select[Any]:
    words = or_query(bindparam("request", type_=Text))
    query = cast(words, TSQUERY)
    rank = func.ts_rank(CapabilityRow.search_vector, query)
    return (
        select(CapabilityRow.id, rank.label("rank"))
        .where(words != "", CapabilityRow.search_vector.bool_op("@@")(query))
        .order_by(rank.desc(), CapabilityRow.id)
    )


_CANDIDATES = _candidates()


def _neighbours() -> Select[Any]:
    vector = bindparam("qvec", type_=Vector(DIMENSION))
    distance = CapabilityEmbeddingRow.embedding.cosine_distance(vector)
    return (
        select(CapabilityEmbeddingRow.capability_id, (1 - distance).label("similarity"))
        .where(CapabilityEmbeddingRow.model_id == bindparam("model_id", type_=Text))
        .order_by(distance, CapabilityEmbeddingRow.capability_id)
        .limit(bindparam("limit", type_=Integer))
    )


_NEIGHBOURS = _neighbours()


@lru_cache(maxsize=4)
def _capability_agents(verified_only: bool, with_cursor: bool) -> Select[Any]:
    link = AgentCapabilityRow
    conditions: list[ColumnElement[bool]] = [
        link.capability_id == bindparam("capability_id", type_=Text)
    ]
    if verified_only:
        conditions.append(link.verified.is_(True))
    if with_cursor:
        trust = bindparam("after_trust", type_=Float)
        conditions += [
            link.trust <= trust,
            or_(
                link.trust < trust,
                and_(link.trust == trust, link.agent_id > bindparam("after_id", type_=Text)),
            ),
        ]
    top = (
        select(link.agent_id, link.trust)
        .where(*conditions)
        .order_by(link.trust.desc(), link.agent_id)
        .limit(bindparam("row_limit", type_=Integer))
        .subquery("top")
    )
    return (
        select(*AGENT_COLUMNS, top.c.trust.label("capability_trust"))
        .join(top, top.c.agent_id == AgentRow.id)
        .order_by(top.c.trust.desc(), top.c.agent_id)
    )


# Built once: (kind, type or capability, status, n) rows of both counters.
_STATS = union_all(
    select(
        literal("agents").label("kind"),
        AgentCountRow.agent_type,
        AgentCountRow.status,
        func.sum(AgentCountRow.n),
    ).group_by(AgentCountRow.agent_type, AgentCountRow.status),
    select(literal("capability"), CapabilityRow.id, literal(None, Text), CapabilityRow.agent_count),
)
