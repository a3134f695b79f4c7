"""What search and find share: the statement parts that depend on the request's shape
only (filter conditions, the keyset cursor, every value bound by name) and the page
their rows make.

Statements are built once per shape (which filters are set, text or not, first page or
not) and reused with the values bound: building one per request cost more worker CPU
(~2 ms) than Postgres spends on most searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    SQLColumnExpression,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, array

from db.models import AgentCapabilityRow, AgentRow
from db.repositories.rows import AnyRow, to_agent
from server.domain.search import (
    AgentFilter,
    CapabilityMatch,
    MatchReason,
    Ranking,
    ScoreCursor,
    SearchHit,
    SearchPage,
)

# The text search configuration of agents' and the catalog's search vectors.
ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")

# Normalisation 32: rank / (rank + 1), so relevance stays within 0..1. ts_rank rather
# than ts_rank_cd: ranking every match is the cost of a query, and it is about a third
# cheaper; cover density adds little for queries of a few words over short profiles.
RANK_NORMALISATION = 32


def web_query(text: str | ColumnElement[str]) -> ColumnElement[Any]:
    """Web search syntax: "quoted phrases", `or`, `-excluded`; never raises on odd input.

    The query is a FROM item (`FROM agents, websearch_to_tsquery(...) AS q`), parsed once
    per statement. Written inline, as an argument of ts_rank and @@, it is parsed again
    for every candidate row once Postgres switches a prepared statement to its generic
    plan (after five runs): 5 ms more of a 6 ms one-word search at 100,000 agents.
    """
    return func.websearch_to_tsquery(ENGLISH, text).column_valued("q")


def any_word_query_value(text: str | ColumnElement[str]) -> ColumnElement[Any]:
    """Any of the words of a plain-language request, stemmed and without stop words: the
    text ranking of a sentence, whose words rarely all appear in one profile.

    plainto_tsquery yields `'a' & 'b'`; lexemes are quoted and never contain spaces,
    so turning ` & ` into ` | ` is exact. Only stop words leave an empty query, which
    matches nothing."""
    anded = func.plainto_tsquery(ENGLISH, text)
    return cast(func.replace(cast(anded, Text), " & ", " | "), TSQUERY)


def query_value(text: str | ColumnElement[str], any_word: bool) -> ColumnElement[Any]:
    """The query as a value, parsed per row: for statements that rank a few rows only."""
    return any_word_query_value(text) if any_word else func.websearch_to_tsquery(ENGLISH, text)


def text_query(text: str | ColumnElement[str], any_word: bool) -> ColumnElement[Any]:
    """Every word (web search syntax: web_query) or any word, as a FROM item."""
    if not any_word:
        return web_query(text)
    # unnest of a one-element array: a function, so a FROM item like web_query's.
    return func.unnest(array([any_word_query_value(text)])).column_valued("q")


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


@dataclass(frozen=True, slots=True)
class FilterShape:
    """Which filters a request sets (their values are bound: bound_values)."""

    capabilities: CapabilityMatch | None
    types: bool
    protocols: bool
    tags: bool
    statuses: bool
    min_trust: bool
    verified: bool
    domain_proven: bool

    @classmethod
    def of(cls, search_filter: AgentFilter) -> FilterShape:
        return cls(
            capabilities=search_filter.capability_match if search_filter.capabilities else None,
            types=bool(search_filter.types),
            protocols=bool(search_filter.protocols),
            tags=bool(search_filter.tags),
            statuses=bool(search_filter.statuses),
            min_trust=search_filter.min_trust_score > 0,
            verified=search_filter.verified_only,
            domain_proven=search_filter.domain_proven_only,
        )


def bound_values(
    search_filter: AgentFilter, cursor: ScoreCursor | None, limit: int
) -> dict[str, Any]:
    """The values a statement built for this request's shape binds: its filters (see
    filter_conditions), its keyset position (after_cursor) and `row_limit`, one row more
    than the page, to tell whether a next page exists."""
    values = {
        "f_capabilities": list(search_filter.capabilities),
        "f_capability_count": len(search_filter.capabilities),
        "f_types": [t.value for t in search_filter.types],
        "f_protocols": list(search_filter.protocols),
        "f_tags": list(search_filter.tags),
        "f_statuses": [s.value for s in search_filter.statuses],
        "f_min_trust": search_filter.min_trust_score,
        "row_limit": limit + 1,
    }
    if cursor is not None:
        values |= {"after_score": cursor.score, "after_id": cursor.agent_id}
    return values


def _text_array(name: str) -> ColumnElement[Any]:
    return cast(bindparam(name), ARRAY(Text))


def filter_conditions(shape: FilterShape, *, with_text: bool = False) -> list[ColumnElement[bool]]:
    """Each filter can be served by an index: GIN on tags/protocols, btree on status and
    trust, agent_capabilities' primary key for capabilities.

    With text (or another index driving the query), protocols are checked per row
    instead: there are a handful of them, each on a large share of agents, and Postgres
    misjudges their GIN bitmap (40,000 entries at 100k agents, 15 ms) as cheaper than
    rechecking the few thousand text matches.
    """
    # Suspended and taken-down agents are never found (few rows: checked per row).
    conditions: list[ColumnElement[bool]] = [AgentRow.state == "active"]
    if shape.capabilities is not None:
        offered = (
            AgentCapabilityRow.agent_id == AgentRow.id,
            AgentCapabilityRow.capability_id == func.any(_text_array("f_capabilities")),
        )
        if shape.capabilities is CapabilityMatch.ALL:
            count = select(func.count()).where(*offered).correlate(AgentRow).scalar_subquery()
            conditions.append(count == bindparam("f_capability_count", type_=Integer))
        else:
            conditions.append(exists().where(*offered).correlate(AgentRow))
    if shape.types:
        conditions.append(AgentRow.agent_type == func.any(_text_array("f_types")))
    if shape.protocols:
        # array_cat(x, '{}') is x, but no index matches it.
        protocols = (
            func.array_cat(AgentRow.protocols, cast([], ARRAY(Text)))
            if with_text
            else AgentRow.protocols
        )
        conditions.append(protocols.op("&&")(_text_array("f_protocols")))
    if shape.tags:
        conditions.append(AgentRow.tags.contains(_text_array("f_tags")))
    if shape.statuses:
        # The stored status column; live presence flushes into it in bulk.
        conditions.append(AgentRow.status == func.any(_text_array("f_statuses")))
    if shape.min_trust:
        conditions.append(AgentRow.trust_score >= bindparam("f_min_trust", type_=Float))
    if shape.verified:
        conditions.append(AgentRow.verified.is_(True))
    if shape.domain_proven:
        conditions.append(AgentRow.domain_verified_at.is_not(None))
    return conditions


def after_cursor(
    score: ColumnElement[float], agent_id: SQLColumnExpression[str]
) -> ColumnElement[bool]:
    """Past the keyset position bound as `after_score`, `after_id` (bound_values)."""
    after_score = bindparam("after_score", type_=Float)
    return or_(
        score < after_score,
        and_(score == after_score, agent_id > bindparam("after_id", type_=Text)),
    )


def ranked_page(
    rows: Sequence[AnyRow],
    limit: int,
    total: int,
    *,
    semantic_floor: float | None = None,
    by_capability: bool = False,
) -> SearchPage:
    """Rows (agent columns, score, relevance, `similarity` in hybrid search and find, and
    `capability` in find) of up to `limit + 1` ranked agents: the last one only says that a
    next page exists.

    Each hit says how it matched: TEXT for a text relevance above 0, SEMANTIC for a
    similarity at or above the floor, CAPABILITY (find) for offering an understood one."""
    kept = rows[:limit]
    hits = []
    for r in kept:
        text_rank = float(r.relevance)
        similarity = float(r.similarity) if semantic_floor is not None else 0.0
        found = (
            ((MatchReason.CAPABILITY,) if by_capability and r.capability else ())
            + ((MatchReason.TEXT,) if text_rank > 0 else ())
            + (
                (MatchReason.SEMANTIC,)
                if semantic_floor is not None and similarity >= semantic_floor
                else ()
            )
        )
        hits.append(SearchHit(to_agent(r), float(r.score), text_rank, similarity, found))
    next_cursor = None
    if len(rows) > limit:
        next_cursor = ScoreCursor(float(kept[-1].score), kept[-1].id, total)
    return SearchPage(hits, next_cursor, total)
