"""Query vectors for hybrid search, computed in the server on a cache miss.

A query is a few milliseconds of onnxruntime on one core: it runs in a worker
thread so the event loop keeps serving. The vector of a text never changes, so
each process keeps the last QUERY_CACHE ones: a hot query whose cached response
was retired (any registry write) is ranked again without being embedded again.
Any failure degrades that request to text-only ranking (logged), never to an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from server.domain.search import SemanticQuery
from server.embeddings.model import Embedder

log = logging.getLogger(__name__)

# About 1.6 kB a vector: 4,096 of them are ~7 MB per process.
QUERY_CACHE = 4096


class QueryVectors:
    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder
        self._recent: OrderedDict[str, SemanticQuery] = OrderedDict()

    @property
    def available(self) -> bool:
        return self._embedder is not None

    async def of(self, text: str) -> SemanticQuery | None:
        """The query's vector, or None when semantic search is unavailable."""
        embedder = self._embedder
        if embedder is None or not text:
            return None
        known = self._recent.get(text)
        if known is not None:
            self._recent.move_to_end(text)
            return known
        try:
            vector = await asyncio.to_thread(embedder.embed_one, text)
        except Exception:
            log.exception("embedding a query failed; ranking it by text alone")
            return None
        query = SemanticQuery(embedder.model_id, tuple(vector))
        self._recent[text] = query
        if len(self._recent) > QUERY_CACHE:
            self._recent.popitem(last=False)
        return query
