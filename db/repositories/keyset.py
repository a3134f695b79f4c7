"""Keyset (seek) pagination shared by the repositories.

Fetch `limit + 1` rows ordered by a unique key (the primary key is always the
last column, as tie-breaker): the extra row only tells us whether a next page
exists, and the cursor is the key of the last row returned. Unlike OFFSET, the
cost of page N does not grow with N, and concurrent inserts never shift rows
between pages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, tuple_
from sqlalchemy.sql._typing import _ColumnExpressionArgument

from server.domain.agents import Page
from server.domain.errors import InvalidArgument

R = TypeVar("R")
T = TypeVar("T")


def after(
    columns: Sequence[_ColumnExpressionArgument[Any]], values: Sequence[Any], *, descending: bool
) -> ColumnElement[bool]:
    """Row comparison `(a, b) < (x, y)`; Postgres serves it from the matching composite index.

    All columns must sort in the same direction, as in every keyset index here.
    """
    left = tuple_(*columns)
    right = tuple_(*values)
    return left < right if descending else left > right


def build_page(
    rows: Sequence[R],
    limit: int,
    to_item: Callable[[R], T],
    cursor_of: Callable[[R], tuple[str, ...]],
) -> Page[T]:
    """Turn `limit + 1` fetched rows into a page and the cursor of its last row."""
    has_more = len(rows) > limit
    kept = rows[:limit]
    next_cursor = cursor_of(kept[-1]) if has_more and kept else None
    return Page(items=[to_item(row) for row in kept], next_cursor=next_cursor)


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"page limit must be positive, got {limit}")


def decode_timestamp_cursor(cursor: tuple[str, ...]) -> tuple[datetime, str]:
    """Parse a (created_at isoformat, id) cursor; a tampered token is the caller's error."""
    try:
        created_at_text, row_id = cursor
        created_at = datetime.fromisoformat(created_at_text)
    except ValueError as exc:
        raise _bad_token() from exc
    if created_at.tzinfo is None:
        raise _bad_token()
    return created_at, row_id


def _bad_token() -> InvalidArgument:
    return InvalidArgument.field("page_token", "is not a token from this query")
