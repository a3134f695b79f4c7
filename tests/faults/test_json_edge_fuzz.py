"""Schemathesis against the JSON edge: random requests from the published OpenAPI doc.

The edge is whatever the `http` fixture points at (an httpx.AsyncClient whose
base URL is the JSON front of the server); only that fixture and OPENAPI tie
this module to it. Cases are valid by the schema or deliberately invalid
(schemathesis's negative mode), and some carry a NUL in one string. Every
answer must be a client error or a success; a 5xx other than 501 (not
implemented) and 503 (retry) is a bug. Bounded: a few examples per operation,
about a minute in all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OPENAPI = Path(__file__).parents[2] / "generated" / "agentregistry" / "v1" / "openapi.json"
EXAMPLES_PER_OPERATION = 12
ALLOWED_5XX = {501, 503}

SCHEMA = schemathesis.openapi.from_path(str(OPENAPI))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _strings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the string leaves of a JSON-like value."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _strings(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _strings(item, (*path, index))]
    return []


def _with_nul(value: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return f"{value}\x00"
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _with_nul(value[head], rest)}
    return [_with_nul(item, rest) if index == head else item for index, item in enumerate(value)]


def _hostile(case: Any, data: st.DataObject) -> None:
    """Sometimes put a NUL into one string of the query or body (schemathesis rarely does)."""
    targets = [("query", p) for p in _strings(case.query or {})]
    targets += [("body", p) for p in _strings(case.body)] if isinstance(case.body, dict) else []
    if not targets or not data.draw(st.booleans(), label="nul"):
        return
    where, path = data.draw(st.sampled_from(targets), label="nul_at")
    setattr(case, where, _with_nul(getattr(case, where), path))


def _request(case: Any, client: httpx.AsyncClient) -> dict[str, Any]:
    """Schemathesis's request as httpx arguments."""
    sent = case.as_transport_kwargs(base_url=str(client.base_url).rstrip("/"))
    request: dict[str, Any] = {
        "method": sent["method"],
        "url": sent["url"],
        "headers": {k: v for k, v in sent.get("headers", {}).items() if k != "Connection"},
        "params": sent.get("params"),
    }
    if "json" in sent:
        request["json"] = sent["json"]
    elif "data" in sent:
        request["content"] = sent["data"]
    return request


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_json_edge_answers_random_requests_without_server_errors(
    http: httpx.AsyncClient, operation: Any, data: st.DataObject
) -> None:
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    case = data.draw(st.one_of(*(operation.as_strategy(mode) for mode in modes)), label="case")
    _hostile(case, data)
    response = await http.request(**_request(case, http))
    assert response.status_code < 500 or response.status_code in ALLOWED_5XX, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
