"""The shape of the SQL search sends, where the shape itself is the point."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from db.repositories.search import _search_statement
from db.repositories.search_filters import FilterShape
from server.domain.agents import AgentType
from server.domain.search import RANKING, AgentFilter


@pytest.mark.parametrize("with_cursor", [False, True])
@pytest.mark.parametrize(
    "search_filter",
    [AgentFilter(), AgentFilter(types=(AgentType.TOOL,), protocols=("mcp",), min_trust_score=40)],
)
def test_the_query_text_is_parsed_once_per_statement(
    search_filter: AgentFilter, with_cursor: bool
) -> None:
    """Prepared statements run on a generic plan, where a function of a parameter is not
    folded: each inline websearch_to_tsquery($1) would be parsed again for every
    candidate row. One FROM item is parsed once."""
    statement = _search_statement(FilterShape.of(search_filter), True, with_cursor, RANKING, False)
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert sql.count("websearch_to_tsquery(") == 1
    assert "websearch_to_tsquery('english'::regconfig, %(text)s::VARCHAR) AS q" in sql
    # Ranked by any word, the query is one FROM item too.
    statement = _search_statement(FilterShape.of(search_filter), True, with_cursor, RANKING, True)
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert sql.count("plainto_tsquery(") == 1
    assert "websearch_to_tsquery(" not in sql
    assert ") AS q" in sql
