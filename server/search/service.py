"""Search and discovery use cases: validate, pick the plan, page, and explain the result.

Reads only; each call runs on its own read session (the replica when configured).
Ranking (see server.domain.search.Ranking) uses stored columns only, so the same
row scores the same on every page: a keyset cursor (score, agent_id) never
repeats or skips agents because others were inserted. An agent whose trust or
stored status changes between two page requests may move, like in any live list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from server.domain import failures
from server.domain.agents import Agent, Page
from server.domain.paging import decode_token, encode_token, page_limit
from server.domain.search import (
    RANKING,
    AgentFilter,
    CapabilityCandidate,
    CapabilityNeighbour,
    FindResult,
    MatchedCapability,
    MatchReason,
    Ranking,
    RegistryStats,
    ScoreCursor,
    SearchPage,
    SemanticQuery,
    Suggestion,
)
from server.search import query as rules
from server.search.names import NameIndex

# A catalog entry counts as understood by its words when its rank reaches this share of the
# best such entry's rank (so "review my code" keeps code-review, not every entry with
# "code") and this absolute floor (a lone word in a description is not enough).
RELATIVE_CUTOFF = 0.6
MIN_RANK = 0.05
# Confidence = strength / (strength + CONFIDENCE_HALF): 0.5 at CONFIDENCE_HALF, towards 1
# above; the strength is the catalog text match's rank, or the cosine similarity.
CONFIDENCE_HALF = 0.1
# Meaning decides: with embeddings, an entry is understood only when its cosine similarity
# to the request lies within SEMANTIC_MARGIN of the closest entry's, and either the
# request's words name it or the similarity reaches SEMANTIC_FLOOR (made-up words reach
# about 0.28 with MiniLM). A shared stem alone ("books" → travel booking) is not enough.
SEMANTIC_FLOOR = 0.35
SEMANTIC_MARGIN = 0.05
# Every catalog entry's similarity is read (a few dozen rows): the closest tells how far
# the others are.
CATALOG_NEIGHBOURS = 100
# How much an understood capability lifts its offerers: their relevance r becomes
# 1 - (1 - r)(1 - CAPABILITY_BOOST * confidence). A boost, not a filter: agents the
# request itself matches stay in the ranking.
CAPABILITY_BOOST = 0.1
# Without embeddings an entry is understood by shared words alone, which the offerers'
# own text already carries (their capabilities are in it): a much smaller boost, enough
# to rank them by their trust for the capability.
WORDS_ONLY_BOOST = 0.005
# Ranked by text alone (no embeddings), a request of several words that all appear
# together in fewer agents than this is ranked by any of its words instead: sentences
# rarely repeat a profile word for word. With embeddings, meaning finds what the words
# miss, and scoring every agent sharing any word of a sentence would cost far more
# (thousands of matches at 100,000 agents).
ANY_WORD_BELOW = 10
# Typeahead looks past typos from this many characters on.
FUZZY_MIN_PREFIX = 3


class SearchStore(Protocol):
    """What the service needs from the repository (db.repositories.search)."""

    async def search(
        self,
        text: str,
        search_filter: AgentFilter,
        ranking: Ranking,
        limit: int,
        cursor: ScoreCursor | None,
        any_word: bool = False,
    ) -> SearchPage: ...

    async def all_words_matches(self, text: str, enough: int) -> int: ...

    async def hybrid(
        self,
        text: str,
        semantic: SemanticQuery,
        search_filter: AgentFilter,
        ranking: Ranking,
        limit: int,
        cursor: ScoreCursor | None,
        any_word: bool = False,
    ) -> SearchPage: ...

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
    ) -> SearchPage: ...

    @property
    def catalog(self) -> CatalogStore: ...


class CatalogStore(Protocol):
    async def similar_names(
        self, prefix: str, found: list[str], limit: int
    ) -> list[Suggestion]: ...
    async def capability_candidates(self, request: str) -> list[CapabilityCandidate]: ...
    async def capability_neighbours(
        self, semantic: SemanticQuery, limit: int
    ) -> list[CapabilityNeighbour]: ...
    async def capability_exists(self, capability_id: str) -> bool: ...
    async def capability_agents(
        self, capability_id: str, verified_only: bool, limit: int, cursor: tuple[float, str] | None
    ) -> Page[tuple[Agent, float]]: ...
    async def stats(self) -> RegistryStats: ...


Reads = Callable[[], AbstractAsyncContextManager[SearchStore]]


class QueryVectors(Protocol):
    """The query's embedding (server.embeddings.queries), or None: rank by text alone."""

    @property
    def available(self) -> bool: ...

    async def of(self, text: str) -> SemanticQuery | None: ...


def _confidence(strength: float) -> float:
    return round(strength / (strength + CONFIDENCE_HALF), 4)


def understood(
    candidates: list[CapabilityCandidate], neighbours: Sequence[CapabilityNeighbour] = ()
) -> list[MatchedCapability]:
    """Which catalog entries the request asks for, strongest first. Without embeddings,
    by its words; with them, by its meaning, which its words may confirm but never
    override. An entry found both ways keeps the higher confidence."""
    found: dict[str, tuple[float, set[MatchReason]]] = {}

    def add(capability_id: str, confidence: float, reason: MatchReason) -> None:
        best, reasons = found.get(capability_id, (0.0, set()))
        found[capability_id] = (max(best, confidence), reasons | {reason})

    similarity = {n.capability_id: n.similarity for n in neighbours}
    near: set[str] = set()
    if similarity:
        closest = max(similarity.values())
        near = {c for c, value in similarity.items() if value >= closest - SEMANTIC_MARGIN}
        candidates = [c for c in candidates if c.capability_id in near]
    if candidates:
        floor = max(MIN_RANK, candidates[0].rank * RELATIVE_CUTOFF)
        for c in candidates:
            if c.rank >= floor:
                add(c.capability_id, _confidence(c.rank), MatchReason.TEXT)
    for capability_id in near:
        value = similarity[capability_id]
        if value >= SEMANTIC_FLOOR or capability_id in found:
            add(capability_id, _confidence(value), MatchReason.SEMANTIC)
    ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))
    return [
        MatchedCapability(capability_id, confidence, tuple(sorted(reasons)))
        for capability_id, (confidence, reasons) in ranked
    ]


def boost(matched: MatchedCapability) -> float:
    weight = CAPABILITY_BOOST if MatchReason.SEMANTIC in matched.reasons else WORDS_ONLY_BOOST
    return weight * matched.confidence


def _score_cursor(token: str, scope: str) -> tuple[ScoreCursor | None, bool | None]:
    """The keyset position and whether the first page was ranked by any word (None: no
    token; tokens issued before any-word ranking carry three values and meant all words)."""
    cursor = decode_token(token, scope)
    if cursor is None:
        return None, None
    try:
        score, agent_id, total, *mode = cursor
        return ScoreCursor(float(score), agent_id, int(total)), mode == ["any"]
    except ValueError as exc:
        raise failures.page_token_invalid() from exc


def _result_page_size(page_size: int) -> int:
    return rules.bounded(
        page_size, "page_size", default=rules.SEARCH_PAGE_DEFAULT, maximum=rules.SEARCH_PAGE_MAX
    )


def _score_token(page: SearchPage, scope: str, any_word: bool) -> str:
    cursor = page.next_cursor
    if cursor is None:
        return ""
    mode = "any" if any_word else "all"
    return encode_token((repr(cursor.score), cursor.agent_id, str(cursor.total), mode), scope)


async def _any_word(
    store: SearchStore, text: str, semantic: SemanticQuery | None, known: bool | None
) -> bool:
    """Rank by any word: the page token says so, or the request is ranked by text alone
    and is several plain words that all appear together in too few agents."""
    if known is not None:
        return known
    if semantic is not None or len(text.split()) < 2 or rules.uses_search_syntax(text):
        return False
    return await store.all_words_matches(text, ANY_WORD_BELOW) < ANY_WORD_BELOW


class SearchService:
    """Filtering and ranking use the stored status (flushed from presence every few seconds,
    so pages stay stable); server.search.responses merges live presence into what is served."""

    def __init__(self, reads: Reads, names: NameIndex, vectors: QueryVectors) -> None:
        self._reads = reads
        self._names = names
        self._vectors = vectors

    async def _ranked(
        self,
        store: SearchStore,
        text: str,
        semantic: SemanticQuery | None,
        search_filter: AgentFilter,
        limit: int,
        cursor: ScoreCursor | None,
        any_word: bool,
    ) -> SearchPage:
        """Hybrid when there is text and its vector, else text (and filters) alone."""
        if text and semantic is not None:
            return await store.hybrid(
                text, semantic, search_filter, RANKING, limit, cursor, any_word
            )
        page = await store.search(text, search_filter, RANKING, limit, cursor, any_word)
        return self._marked(page, bool(text))

    def _marked(self, page: SearchPage, ranked_text: bool) -> SearchPage:
        """Says so when text was ranked without meaning because the model is unavailable."""
        if ranked_text and not self._vectors.available:
            return dataclasses.replace(page, semantic_available=False)
        return page

    async def search(
        self, raw_query: str, search_filter: AgentFilter, page_size: int, page_token: str
    ) -> tuple[SearchPage, str]:
        text, search_filter = rules.search_input(raw_query, search_filter)
        limit = _result_page_size(page_size)
        scope = f"search:{text}:{search_filter.fingerprint()}"
        cursor, mode = _score_cursor(page_token, scope)
        semantic = await self._vectors.of(text)
        async with self._reads() as store:
            any_word = await _any_word(store, text, semantic, mode)
            page = await self._ranked(store, text, semantic, search_filter, limit, cursor, any_word)
        return page, _score_token(page, scope, any_word)

    async def suggest(self, raw_prefix: str, limit: int) -> list[Suggestion]:
        """Names starting with the prefix; if that leaves room and the prefix is long
        enough, names one edit away (when none starts with it), else similar names."""
        prefix = rules.suggest_prefix(raw_prefix)
        count = rules.bounded(
            limit, "limit", default=rules.SUGGEST_DEFAULT, maximum=rules.SUGGEST_MAX
        )
        found = self._names.starting_with(prefix, count)
        if len(found) >= count or len(prefix) < FUZZY_MIN_PREFIX:
            return found
        if not found and (near := self._names.one_edit_away(prefix, count)):
            return near
        async with self._reads() as store:
            similar = await store.catalog.similar_names(
                prefix, [s.agent_id for s in found], count - len(found)
            )
        return found + similar

    async def find(
        self, raw_query: str, search_filter: AgentFilter, page_size: int, page_token: str
    ) -> tuple[FindResult, str]:
        """Map the request onto the catalog by meaning (and words), then rank agents by the
        request with the understood capabilities as boosts; nothing understood → search."""
        text, search_filter = rules.find_input(raw_query, search_filter)
        limit = _result_page_size(page_size)
        scope = f"find:{text}:{search_filter.fingerprint()}"
        cursor, mode = _score_cursor(page_token, scope)
        semantic = await self._vectors.of(text)
        async with self._reads() as store:
            candidates = await store.catalog.capability_candidates(text)
            neighbours = []
            if semantic is not None:
                neighbours = await store.catalog.capability_neighbours(semantic, CATALOG_NEIGHBOURS)
            matched = understood(candidates, neighbours)
            any_word = await _any_word(store, text, semantic, mode)
            if matched:
                boosts = [(m, boost(m)) for m in matched]
                page = await store.find(
                    text, semantic, boosts, search_filter, RANKING, limit, cursor, any_word
                )
                page = self._marked(page, True)
            else:
                page = await self._ranked(
                    store, text, semantic, search_filter, limit, cursor, any_word
                )
        return FindResult(matched, not matched, page), _score_token(page, scope, any_word)

    async def capability_agents(
        self, capability_id: str, verified_only: bool, page_size: int, page_token: str
    ) -> tuple[list[Agent], str]:
        scope = f"capability-agents:{capability_id}:{verified_only}"
        limit = page_limit(page_size)
        raw = decode_token(page_token, scope)
        cursor = None
        if raw is not None:
            try:
                cursor = (float(raw[0]), raw[1])
            except (ValueError, IndexError) as exc:
                raise failures.page_token_invalid() from exc
        async with self._reads() as store:
            page = await store.catalog.capability_agents(
                capability_id, verified_only, limit, cursor
            )
            # Only an empty page can mean an unknown capability: one query, not two.
            if not page.items and not await store.catalog.capability_exists(capability_id):
                raise failures.capability_not_found(capability_id)
        return [agent for agent, _ in page.items], encode_token(page.next_cursor, scope)

    async def stats(self) -> RegistryStats:
        async with self._reads() as store:
            return await store.catalog.stats()
