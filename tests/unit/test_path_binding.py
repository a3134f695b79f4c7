"""Reading back what a transcoded call's URL path bound, and refusing a message that
disagrees with it."""

from __future__ import annotations

import pytest
from agentregistry.v1 import registry_service_pb2, resources_pb2

from server.calls import path_binding
from server.domain.errors import InvalidArgument
from server.edge.http_template import parse_template

UPDATE_AGENT = "/agentregistry.v1.RegistryService/UpdateAgent"


def test_bind_reads_variables_verbs_and_ignores_the_query() -> None:
    template = parse_template("/v1/{name=agents/*}:rotateKey")
    assert template.bind("/v1/agents/ag_1:rotateKey?x=1") == {("name",): "agents/ag_1"}
    assert template.bind("/v1/agents/ag_1") is None
    assert template.bind("/v1/agents/ag_1:heartbeat") is None
    nested = parse_template("/v1/{name=agents/*/reputation}")
    assert nested.bind("/v1/agents/a%20b/reputation") == {("name",): "agents/a b/reputation"}
    assert nested.bind("/v1/agents/a%2Fb/reputation") == {("name",): "agents/a%2Fb/reputation"}
    assert nested.bind("/v1/agents/a/b/reputation") is None
    rest = parse_template("/v1/{id}/files/{path=**}")
    assert rest.bind("/v1/x%2Fy/files/a/b") == {("id",): "x/y", ("path",): "a/b"}


def test_methods_without_bound_fields_have_no_templates() -> None:
    assert path_binding.templates("/agentregistry.v1.RegistryService/ListAgents") == ()
    assert path_binding.templates("/grpc.health.v1.Health/Check") == ()
    assert path_binding.templates(UPDATE_AGENT)[0].variables[0].field_path == ("agent", "name")


def test_a_body_naming_another_resource_is_refused() -> None:
    templates = path_binding.templates(UPDATE_AGENT)
    request = registry_service_pb2.UpdateAgentRequest(agent=resources_pb2.Agent(name="agents/b"))
    path_binding.check(templates, "/v1/agents/b?updateMask=description", request)
    with pytest.raises(InvalidArgument) as refused:
        path_binding.check(templates, "/v1/agents/a", request)
    assert refused.value.reason == "PATH_MISMATCH"
    assert [v.field for v in refused.value.violations] == ["agent.name"]
    # A path that is not one of the method's (a gRPC call) says nothing about the message.
    path_binding.check(templates, UPDATE_AGENT, request)
