"""Path templates and request assembly of the gateway, from the real descriptor set."""

from __future__ import annotations

import pytest

from server.gateway.routes import Router, build_routes, load_pool, parse_template
from server.gateway.transcode import BadRequest, build_request


@pytest.fixture(scope="module")
def router() -> Router:
    pool, services = load_pool()
    return Router(build_routes(pool, services))


def test_parse_template_with_nested_variable_and_verb() -> None:
    template = parse_template("/v1/{parent=agents/*/webhooks/*}/deliveries:list")
    assert template.segments == ("v1", "agents", "*", "webhooks", "*", "deliveries")
    assert template.verb == "list"
    (variable,) = template.variables
    assert (variable.field_path, variable.start, variable.end) == (("parent",), 1, 5)
    assert template.match(["v1", "agents", "a", "webhooks", "w", "deliveries"], "list") == {
        ("parent",): "agents/a/webhooks/w"
    }
    assert template.match(["v1", "agents", "a", "webhooks", "w", "deliveries"], "") is None


def test_parse_template_defaults_and_double_wildcard() -> None:
    template = parse_template("/v1/{id}/files/{path=**}")
    assert template.match(["v1", "x%20y", "files", "a", "b"], "") == {
        ("id",): "x y",
        ("path",): "a/b",
    }
    with pytest.raises(ValueError):
        parse_template("v1/no-leading-slash")


def test_router_prefers_verbs_and_literals(router: Router) -> None:
    route, bound = router.find("GET", "/v1/agents:search")
    assert route is not None and route.method.name == "SearchAgents" and bound == {}
    route, bound = router.find("POST", "/v1/agents/ag_1:rotateKey")
    assert route is not None and route.method.name == "RotateAgentKey"
    assert bound == {("name",): "agents/ag_1"}
    route, bound = router.find("PATCH", "/v1/agents/ag_1")
    assert route is not None and bound == {("agent", "name"): "agents/ag_1"}
    assert router.find("PUT", "/v1/agents/ag_1") == (None, True)
    assert router.find("GET", "/v1/nothing/here") == (None, False)


def test_streaming_rpcs_are_not_routed(router: Router) -> None:
    names = {route.method.name for route in router.routes}
    assert "GetAgent" in names
    assert not {"Heartbeat", "WatchEvents"} & names


def test_build_request_merges_body_query_and_path(router: Router) -> None:
    route, bound = router.find("PATCH", "/v1/agents/ag_1")
    assert route is not None and isinstance(bound, dict)
    request = build_request(
        route,
        bound,
        [("update_mask", "displayName,endpointUri")],
        b'{"display_name": "A", "name": "agents/other", "tags": ["x"]}',
    )
    assert request.agent.name == "agents/ag_1"  # the path wins over the body
    assert request.agent.display_name == "A" and list(request.agent.tags) == ["x"]
    assert list(request.update_mask.paths) == ["display_name", "endpoint_uri"]


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("POST", "/v1/agents", [], b'{"agent": {"nope": 1}}'),
        ("POST", "/v1/agents", [("pageSize", "1")], b"{}"),
        ("POST", "/v1/agents", [], b"[1, 2]"),
        ("GET", "/v1/agents", [("pageSize", "1.5")], b""),
        ("GET", "/v1/agents/ag_1", [("name", "agents/x")], b""),
        ("GET", "/v1/agents", [], b'{"x": 1}'),
        # FieldMask JSON is lowerCamelCase, as in Envoy's transcoder.
        ("PATCH", "/v1/agents/ag_1", [("updateMask", "endpoint_uri")], b"{}"),
    ],
)
def test_build_request_rejects(
    router: Router, method: str, path: str, query: list[tuple[str, str]], body: bytes
) -> None:
    route, bound = router.find(method, path)
    assert route is not None and isinstance(bound, dict)
    with pytest.raises(BadRequest):
        build_request(route, bound, query, body)
