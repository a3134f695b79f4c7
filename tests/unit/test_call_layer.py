"""What the call layer decides once per method, and what it reads from metadata."""

from __future__ import annotations

import logging
import time

import grpc
import pytest
from agentregistry.v1 import (
    attestation_service_pb2,
    presence_service_pb2,
    registry_service_pb2,
    search_service_pb2,
)
from google.protobuf import struct_pb2

from server.call import Call
from server.calls import access_log
from server.calls.layer import _plan
from server.calls.request_guard import can_hold_checked_fields
from server.ratelimit.policy import MethodClass


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (presence_service_pb2.HeartbeatRequest, False),  # only enums and numbers
        (registry_service_pb2.GetAgentRequest, True),  # a resource name
        (search_service_pb2.SearchAgentsRequest, True),
        (attestation_service_pb2.CreateAttestationRequest, True),  # strings and timestamps
        (struct_pb2.Value, True),  # recursive through Struct/ListValue, and holds strings
    ],
)
def test_only_request_types_that_can_hold_text_or_times_are_walked(
    message: type, expected: bool
) -> None:
    assert can_hold_checked_fields(message.DESCRIPTOR) is expected  # type: ignore[attr-defined]


def test_a_plan_is_worked_out_from_the_method_and_its_request_type() -> None:
    get_agent = _plan(
        "/agentregistry.v1.RegistryService/GetAgent", registry_service_pb2.GetAgentRequest
    )
    assert (get_agent.rate_class, get_agent.guarded, get_agent.cached) == (
        MethodClass.READ,
        True,
        True,
    )
    beat = _plan(
        "/agentregistry.v1.PresenceService/SendHeartbeat", presence_service_pb2.HeartbeatRequest
    )
    assert (beat.rate_class, beat.guarded, beat.cached) == (MethodClass.HEARTBEAT, False, False)
    unknown = _plan("/grpc.health.v1.Health/Check", None)
    assert (unknown.rate_class, unknown.guarded) == (None, True)  # unknown types are walked


class _Metadata:
    """A context that only has metadata."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        self._pairs = pairs

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._pairs


def test_metadata_is_read_in_one_pass() -> None:
    headers = Call.of(
        _Metadata(
            ("x-request-id", "r-1"),
            ("x-request-id", "r-2"),
            ("authorization", "Bearer abc"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-registry-edge", "http"),
        )
    )
    assert headers.request_id == "r-1"
    assert headers.authorization == "Bearer abc" and headers.api_key is None
    assert headers.credentialed
    assert headers.forwarded_for == "203.0.113.9,10.0.0.1"
    assert headers.edge


def test_a_missing_or_oversized_request_id_is_minted() -> None:
    minted = Call.of(_Metadata(("x-request-id", "x" * 129), ("x-api-key", "  ")))
    assert len(minted.request_id) == 32 and minted.request_id != "x" * 129
    assert minted.api_key is None and not minted.credentialed and not minted.edge


class _Context:
    def __init__(self, code: object) -> None:
        self._code = code

    def code(self) -> object:
        return self._code

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5000"


def test_ok_calls_log_at_debug_and_failures_at_info(caplog: pytest.LogCaptureFixture) -> None:

    series = access_log.Series("/agentregistry.v1.RegistryService/GetAgent")
    caplog.set_level(logging.INFO, logger="agentregistry.access")
    access_log.record(series, _Context(None), time.perf_counter(), error=None)
    assert caplog.records == []
    access_log.record(series, _Context(grpc.StatusCode.NOT_FOUND), time.perf_counter(), None)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "rpc /agentregistry.v1.RegistryService/GetAgent NOT_FOUND")
    ]
