"""Validation and normalisation of search input; all violations are reported at once."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.search import AgentFilter
from server.domain.validation import normalise_labels

MAX_QUERY = 256
MAX_PREFIX = 64
MAX_FILTER_VALUES = 20
SEARCH_PAGE_DEFAULT = 20
SEARCH_PAGE_MAX = 100
SUGGEST_DEFAULT = 10
SUGGEST_MAX = 50
_SPACES = re.compile(r"\s+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _text_violations(field: str, text: str, maximum: int) -> list[FieldViolation]:
    if len(text) > maximum:
        return [FieldViolation(field, f"at most {maximum} characters")]
    # NUL cannot be stored in Postgres text and other control characters mean nothing here.
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return [FieldViolation(field, "must not contain control characters")]
    return []


def clean_text(text: str) -> str:
    """Trim and collapse whitespace (tabs and newlines count as spaces)."""
    return _SPACES.sub(" ", text).strip()


def search_text(text: str) -> str:
    """The query as search and find use it, and as their page tokens and cached responses
    are keyed: requests that differ only in spacing or ASCII letter case rank the same
    (Postgres lower-cases every word, and `or` in any case), so they share one entry.
    Other letters keep their case: Postgres's lower-casing of them depends on its locale."""
    return clean_text(text).translate(_ASCII_LOWER)


def _filter_violations(search_filter: AgentFilter) -> list[FieldViolation]:
    problems = []
    for name in ("capabilities", "types", "protocols", "tags", "statuses"):
        if len(getattr(search_filter, name)) > MAX_FILTER_VALUES:
            problems.append(FieldViolation(f"filter.{name}", f"at most {MAX_FILTER_VALUES}"))
    if not 0.0 <= search_filter.min_trust_score <= 100.0:
        problems.append(FieldViolation("filter.min_trust_score", "must be between 0 and 100"))
    return problems


def normalise_filter(search_filter: AgentFilter) -> AgentFilter:
    """Sorted, de-duplicated values: equal filters give equal fingerprints (and tokens)."""
    return replace(
        search_filter,
        capabilities=tuple(sorted(set(search_filter.capabilities))),
        types=tuple(sorted(set(search_filter.types))),
        protocols=tuple(sorted(set(normalise_labels(search_filter.protocols)))),
        tags=tuple(sorted(set(normalise_labels(search_filter.tags)))),
        statuses=tuple(sorted(set(search_filter.statuses))),
    )


_QUOTED = re.compile(r'"[^"]*"?')


def looks_for_something(query: str) -> bool:
    """False when no word is left to look for: only exclusions (`-spam -ads`) or symbols.
    Only a scan of every agent could answer that, so without a filter it is refused.
    Quoted phrases, and words that are not excluded, count; `or` does not."""
    if any(any(ch.isalnum() for ch in phrase) for phrase in _QUOTED.findall(query)):
        return True
    words = _QUOTED.sub(" ", query).split()
    return any(
        not word.startswith("-") and word.lower() != "or" and any(ch.isalnum() for ch in word)
        for word in words
    )


def uses_search_syntax(query: str) -> bool:
    """Quoted phrases, `-exclusions` or `or`: the request says how its words combine, so
    it is never re-read as any of its words."""
    words = query.split()
    return '"' in query or any(word.startswith("-") or word.lower() == "or" for word in words)


def search_input(raw_query: str, search_filter: AgentFilter) -> tuple[str, AgentFilter]:
    """SearchAgents: text is optional when a filter is given."""
    # Judged as read (spacing collapsed), as its cached response is keyed (search_text).
    query = search_text(raw_query)
    problems = _text_violations("query", query, MAX_QUERY) + _filter_violations(search_filter)
    if not query and search_filter.is_empty and not problems:
        problems.append(FieldViolation("query", "must not be empty when no filter is given"))
    elif query and search_filter.is_empty and not looks_for_something(query) and not problems:
        problems.append(
            FieldViolation(
                "query",
                "must contain a word to look for (exclusions and symbols alone find nothing)",
            )
        )
    if problems:
        raise InvalidArgument(problems)
    return query, normalise_filter(search_filter)


def find_input(raw_query: str, search_filter: AgentFilter) -> tuple[str, AgentFilter]:
    """FindAgents: the plain-language request is required."""
    query = search_text(raw_query)
    problems = _text_violations("query", query, MAX_QUERY) + _filter_violations(search_filter)
    if not query and not problems:
        problems.append(FieldViolation("query", "must not be empty"))
    if problems:
        raise InvalidArgument(problems)
    return query, normalise_filter(search_filter)


def suggest_prefix(raw_prefix: str) -> str:
    """SuggestAgents: 1-64 characters, compared lower-cased like the index."""
    prefix = clean_text(raw_prefix)
    problems = _text_violations("prefix", raw_prefix, MAX_PREFIX)
    if not prefix and not problems:
        problems.append(FieldViolation("prefix", "must not be empty"))
    if problems:
        raise InvalidArgument(problems)
    return prefix.lower()


def bounded(value: int, field: str, *, default: int, maximum: int) -> int:
    if value < 0:
        raise InvalidArgument.field(field, "must not be negative")
    return min(value or default, maximum)
