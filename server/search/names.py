"""Display names in memory, sorted, for typeahead: prefix and one-edit matches without I/O.

A keystroke is the most frequent and least cacheable read (every prefix is its
own request), and answering it from Postgres cost a worker more CPU in driver
and statement handling than the index probe itself. Names are small (~100 bytes
an agent, ~20 MB per process at 100,000 agents), so each process keeps them
sorted the way the old text_pattern_ops index was (code point order of the
lower-cased name, then id) and answers prefixes by bisection.

Freshness: a write through this process updates the index before the call
returns (RegistryService calls put/drop after commit); writes through other
processes arrive through the committed outbox, which every process follows
(AGENT_REGISTERED, AGENT_UPDATED of display_name, AGENT_DELETED), within the
feed's poll interval.
"""

from __future__ import annotations

import logging
import string
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from server.domain.changes import ChangeEvent
from server.domain.events import EventType
from server.domain.search import Suggestion

log = logging.getLogger(__name__)

# Characters a typo may add or replace: those of names as people type them.
_TYPED = frozenset(string.ascii_lowercase + string.digits + " -_.'&")
_SEPARATOR = "\x00"  # sorts before every character a name can hold
# How many positions before the first mismatch a typo is looked for (within its word).
TYPO_LOOKBACK = 3
NAME_EVENTS = frozenset(
    {EventType.AGENT_REGISTERED, EventType.AGENT_UPDATED, EventType.AGENT_DELETED}
)


def _key(agent_id: str, display_name: str) -> str:
    return f"{display_name.lower()}{_SEPARATOR}{agent_id}"


def edits_at(prefix: str, at: int) -> set[str]:
    """Prefixes one edit away from `prefix` at index `at` (a letter dropped, added,
    replaced, or swapped with a neighbour)."""
    head, tail = prefix[:at], prefix[at:]
    variants = {head + tail[1:]}  # a letter typed by mistake
    if at > 0 and tail:
        variants.add(head[:-1] + tail[0] + head[-1] + tail[1:])  # swapped with the one before
    if len(tail) > 1:
        variants.add(head + tail[1] + tail[0] + tail[2:])  # swapped with the one after
    for letter in _TYPED | set(prefix):
        variants.add(head + letter + tail)  # a letter left out
        variants.add(head + letter + tail[1:])  # a letter mistyped
    variants.discard(prefix)
    variants.discard("")
    return variants


class NameIndex:
    def __init__(self) -> None:
        self._keys: list[str] = []
        self._names: dict[str, tuple[str, str]] = {}  # agent id -> (key, display name)

    def __len__(self) -> int:
        return len(self._names)

    def load(self, rows: Iterable[tuple[str, str]]) -> None:
        """Replace everything with (agent id, display name) rows."""
        names = {agent_id: (_key(agent_id, name), name) for agent_id, name in rows}
        self._keys = sorted(key for key, _ in names.values())
        self._names = names

    def put(self, agent_id: str, display_name: str) -> None:
        key = _key(agent_id, display_name)
        old = self._names.get(agent_id)
        if old is not None:
            if old[0] == key and old[1] == display_name:
                return
            self._remove_key(old[0])
        insort(self._keys, key)
        self._names[agent_id] = (key, display_name)

    def drop(self, agent_id: str) -> None:
        old = self._names.pop(agent_id, None)
        if old is not None:
            self._remove_key(old[0])

    def _remove_key(self, key: str) -> None:
        at = bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            del self._keys[at]

    def _starting_with(self, prefix: str, limit: int) -> list[str]:
        keys = self._keys
        at = bisect_left(keys, prefix)
        found: list[str] = []
        while at < len(keys) and len(found) < limit and keys[at].startswith(prefix):
            found.append(keys[at])
            at += 1
        return found

    def _suggestion(self, key: str, similarity: float) -> Suggestion:
        agent_id = key.rpartition(_SEPARATOR)[2]
        return Suggestion(agent_id, self._names[agent_id][1], similarity)

    def starting_with(self, prefix: str, limit: int) -> list[Suggestion]:
        """Names starting with the (lower-case) prefix, in name order then id."""
        return [self._suggestion(key, 1.0) for key in self._starting_with(prefix, limit)]

    def _longest_match(self, prefix: str) -> int:
        """How many leading characters of `prefix` some name starts with."""
        low, high = 0, len(prefix)
        while low < high:  # any name starting with prefix[:n] starts with prefix[:n-1]
            middle = (low + high + 1) // 2
            if self._starting_with(prefix[:middle], 1):
                low = middle
            else:
                high = middle - 1
        return low

    def one_edit_away(self, prefix: str, limit: int) -> list[Suggestion]:
        """Names starting one edit away from a prefix no name starts with.

        The typo is looked for where the prefix stops matching any name, then a few
        positions back within that word: a letter dropped at a word's start ("bold
        illing") lets the rest match other names ("bold i…") for a while. Each position
        is a few dozen bisections. Similarity is (n - 1) / n for an n-character prefix:
        one character of n is wrong.
        """
        longest = self._longest_match(prefix)
        word_start = prefix.rfind(" ", 0, longest) + 1
        similarity = round((len(prefix) - 1) / len(prefix), 4)
        for at in range(longest, max(word_start, longest - TYPO_LOOKBACK) - 1, -1):
            variants = edits_at(prefix, at)
            keys = sorted({key for v in variants for key in self._starting_with(v, limit)})
            if keys:
                return [self._suggestion(key, similarity) for key in keys[:limit]]
        return []


class NameReads(Protocol):
    """Reads the index is built from (db.repositories.search_catalog.CatalogSearch)."""

    async def agent_names(self) -> list[tuple[str, str]]: ...
    async def names_of(self, agent_ids: list[str]) -> list[tuple[str, str]]: ...


class NameSource(Protocol):
    @property
    def catalog(self) -> NameReads: ...


class NameFollower:
    """Loads the index before the server serves, then applies other processes' writes
    (subscribed to the process's outbox follower, server.events.follower)."""

    def __init__(
        self, index: NameIndex, source: Callable[[], AbstractAsyncContextManager[NameSource]]
    ) -> None:
        """`source` reads the primary: a replica may not have a row its event announces."""
        self.index = index
        self._source = source

    async def load(self) -> None:
        async with self._source() as source:
            self.index.load(await source.catalog.agent_names())
        log.debug("typeahead index loaded: %d names", len(self.index))

    async def apply(self, event: ChangeEvent) -> None:
        """Idempotent: a name is re-read, never taken from the event."""
        if event.event_type == EventType.AGENT_DELETED:
            self.index.drop(event.agent_id)
            return
        if event.event_type == EventType.AGENT_UPDATED and "display_name" not in event.data.get(
            "fields", ()
        ):
            return
        async with self._source() as source:
            rows = await source.catalog.names_of([event.agent_id])
        if rows:
            self.index.put(*rows[0])
        else:  # deleted since
            self.index.drop(event.agent_id)
