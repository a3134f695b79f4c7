"""Query vectors for hybrid search, computed in the server on a cache miss.

A query is a few milliseconds of onnxruntime on one core: it runs in a worker
thread so the event loop keeps serving. Any failure degrades that request to
text-only ranking (logged), never to an error.
"""

from __future__ import annotations

import asyncio
import logging

from server.domain.search import SemanticQuery
from server.embeddings.model import Embedder

log = logging.getLogger(__name__)


class QueryVectors:
    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder

    @property
    def available(self) -> bool:
        return self._embedder is not None

    async def of(self, text: str) -> SemanticQuery | None:
        """The query's vector, or None when semantic search is unavailable."""
        embedder = self._embedder
        if embedder is None or not text:
            return None
        try:
            vector = await asyncio.to_thread(embedder.embed_one, text)
        except Exception:
            log.exception("embedding a query failed; ranking it by text alone")
            return None
        return SemanticQuery(embedder.model_id, tuple(vector))
