from __future__ import annotations

import pytest

from server.domain.errors import InvalidArgument
from server.domain.paging import decode_token, encode_token, page_limit


def test_page_limit_defaults_caps_and_rejects_negative() -> None:
    assert page_limit(0) == 50
    assert page_limit(7) == 7
    assert page_limit(10_000) == 500
    with pytest.raises(InvalidArgument) as raised:
        page_limit(-1)
    assert raised.value.violations[0].field == "page_size"


def test_token_round_trip_and_scope_binding() -> None:
    token = encode_token(("2026-01-01T00:00:00+00:00", "ag_x"), "agents:")
    assert decode_token(token, "agents:") == ("2026-01-01T00:00:00+00:00", "ag_x")
    assert encode_token(None, "agents:") == ""
    assert decode_token("", "agents:") is None
    for bad in [token, "!!!", "e30"]:
        scope = "agents:tool" if bad == token else "agents:"
        with pytest.raises(InvalidArgument):
            decode_token(bad, scope)
