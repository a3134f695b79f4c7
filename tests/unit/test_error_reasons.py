"""The ErrorReason contract: the proto enum, the server's mirror of it, what is sent, and
the README table generated from the proto."""

from __future__ import annotations

import grpc
from agentregistry.v1 import error_reason_pb2
from google.rpc import error_details_pb2

from scripts import gen_error_table
from server.domain import failures, refusals
from server.domain.errors import NotFound
from server.domain.reasons import Reason
from server.errors import to_status

PREFIX = "ERROR_REASON_"


def test_the_server_knows_exactly_the_proto_reasons() -> None:
    proto = {n.removeprefix(PREFIX) for n in error_reason_pb2.ErrorReason.DESCRIPTOR.values_by_name}
    assert {r.value for r in Reason} == proto - {"UNSPECIFIED"}


def test_every_reason_documents_its_code_and_metadata() -> None:
    rows = gen_error_table.reasons()
    assert [r for r, *_ in rows] == [r.value for r in Reason]
    codes = set(grpc.StatusCode.__members__)
    for reason, code, when, metadata in rows:
        assert set(code.split(" or ")) <= codes, reason
        assert when and metadata, reason


def test_the_readme_table_is_generated_from_the_proto() -> None:
    """Fails while README.md is stale: run `python scripts/gen_error_table.py`."""
    readme = gen_error_table.README.read_text()
    assert gen_error_table.rendered(readme, gen_error_table.reasons()) == readme


def _info(error: Exception) -> error_details_pb2.ErrorInfo:
    _, _, status = to_status(error)  # type: ignore[arg-type]
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info


def test_the_reason_is_sent_without_its_prefix_with_the_resource_in_metadata() -> None:
    info = _info(failures.agent_not_found("ag_0000000000000000"))
    assert (info.reason, info.domain) == ("AGENT_NOT_FOUND", "agentregistry.dev")
    assert dict(info.metadata) == {"agent": "agents/ag_0000000000000000"}
    limit = _info(refusals.webhook_limit_reached("ag_0000000000000000", 10))
    assert dict(limit.metadata) == {"agent": "agents/ag_0000000000000000", "limit": "10"}
    offered = _info(failures.capability_not_offered("ag_0000000000000000", "travel-booking"))
    assert dict(offered.metadata) == {
        "agent": "agents/ag_0000000000000000",
        "capability": "capabilities/travel-booking",
    }


def test_a_reason_missing_from_the_proto_is_still_sent(caplog) -> None:  # type: ignore[no-untyped-def]
    error = NotFound("gone", reason="NOT_IN_THE_PROTO")  # type: ignore[arg-type]
    assert _info(error).reason == "NOT_IN_THE_PROTO"
    assert "not in error_reason.proto" in caplog.text
