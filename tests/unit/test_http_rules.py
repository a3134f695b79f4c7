"""Path templates of the google.api.http rules, as the OpenAPI document reads them."""

from __future__ import annotations

import pytest

from scripts.http_rules import Route, build_routes, load_pool, parse_template


@pytest.fixture(scope="module")
def routes() -> list[Route]:
    pool, services = load_pool()
    return build_routes(pool, services)


def test_parse_template_with_nested_variable_and_verb() -> None:
    template = parse_template("/v1/{parent=agents/*/webhooks/*}/deliveries:list")
    assert template.segments == ("v1", "agents", "*", "webhooks", "*", "deliveries")
    assert template.verb == "list"
    (variable,) = template.variables
    assert (variable.field_path, variable.start, variable.end) == (("parent",), 1, 5)


def test_parse_template_defaults_and_double_wildcard() -> None:
    template = parse_template("/v1/{id}/files/{path=**}")
    assert template.segments == ("v1", "*", "files", "**")
    first, rest = template.variables
    assert (first.field_path, first.start, first.end) == (("id",), 1, 2)
    assert (rest.field_path, rest.start, rest.end) == (("path",), 3, None)
    with pytest.raises(ValueError):
        parse_template("v1/no-leading-slash")


def test_routes_bind_nested_fields_and_verbs(routes: list[Route]) -> None:
    by_rule = {(r.http_method, r.pattern): r for r in routes}
    update = by_rule[("PATCH", "/v1/{agent.name=agents/*}")]
    assert update.method.name == "UpdateAgent" and update.body == "agent"
    assert update.template.variables[0].field_path == ("agent", "name")
    rotate = by_rule[("POST", "/v1/{name=agents/*}:rotateKey")]
    assert rotate.method.name == "RotateAgentKey" and rotate.template.verb == "rotateKey"
    assert by_rule[("GET", "/v1/agents:search")].template.verb == "search"


def test_streaming_rpcs_are_left_out(routes: list[Route]) -> None:
    names = {route.method.name for route in routes}
    assert "GetAgent" in names
    assert not {"Heartbeat", "WatchEvents"} & names
