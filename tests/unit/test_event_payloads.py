"""Every event type's typed payload, from the stored document to a webhook body's JSON.

The body is read back as a receiver would (plain `json.loads`, camelCase names), and
parsed into the Event message to show it is that message's JSON form.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from agentregistry.v1 import resources_pb2
from google.protobuf import json_format

from server.domain import events
from server.domain.agents import AgentStatus
from server.domain.api_keys import Plan
from server.domain.attestations import ClaimKind
from server.domain.changes import ChangeEvent
from server.domain.events import EventType
from server.events.convert import event_to_proto
from server.events.payloads import PAYLOADS
from server.webhooks.sender import payload

AGENT = "ag_0123456789abcdef"
OTHER = "ag_fedcba9876543210"
AT = datetime(2026, 12, 7, 12, 30, 15, tzinfo=UTC)


def _body(event: events.DomainEvent, event_id: int = 7) -> dict[str, Any]:
    stored = ChangeEvent(event_id, event.event_type, event.agent_id, AT, event.data())
    document: dict[str, Any] = json.loads(payload(stored))
    assert (document["id"], document["agent"]) == (str(event_id), f"agents/{event.agent_id}")
    assert document["type"] == f"EVENT_TYPE_{event.event_type}"
    assert document["createTime"] == "2026-12-07T12:30:15Z"
    assert "data" not in document
    parsed = json_format.ParseDict(document, resources_pb2.Event())
    assert parsed == event_to_proto(stored)
    return document


CASES: list[tuple[events.DomainEvent, str, dict[str, Any]]] = [
    (
        events.AgentRegistered(
            agent_id=AGENT, display_name="Summariser", agent_type="tool", capability_ids=("b", "a")
        ),
        "agentRegistered",
        {
            "displayName": "Summariser",
            "type": "AGENT_TYPE_TOOL",
            "capabilities": ["capabilities/a", "capabilities/b"],
        },
    ),
    (
        events.AgentUpdated(agent_id=AGENT, fields=("endpoint_uri", "display_name")),
        "agentUpdated",
        {"updateMask": "displayName,endpointUri", "capabilityAdded": "", "capabilityRemoved": ""},
    ),
    (
        events.AgentUpdated(agent_id=AGENT, capability_removed="translation"),
        "agentUpdated",
        {
            "updateMask": "capabilities",
            "capabilityAdded": "",
            "capabilityRemoved": "capabilities/translation",
        },
    ),
    (events.AgentDeleted(agent_id=AGENT), "agentDeleted", {}),
    (
        events.AgentStatusChanged(
            agent_id=AGENT,
            status=AgentStatus.OFFLINE,
            previous_status=AgentStatus.BUSY,
            last_seen_at=AT,
        ),
        "agentStatusChanged",
        {
            "status": "AGENT_STATUS_OFFLINE",
            "previousStatus": "AGENT_STATUS_BUSY",
            "lastSeenTime": "2026-12-07T12:30:15Z",
        },
    ),
    (
        events.AttestationReceived(
            agent_id=AGENT,
            attestation_id="at_1",
            attester_id=OTHER,
            kind=ClaimKind.CAPABILITY,
            replaced_id="at_0",
        ),
        "attestationReceived",
        {
            "attestation": "attestations/at_1",
            "attester": f"agents/{OTHER}",
            "kind": "ATTESTATION_KIND_CAPABILITY",
            "replaced": "attestations/at_0",
        },
    ),
    (
        events.AttestationRevoked(
            agent_id=AGENT, attestation_id="at_1", attester_id=OTHER, kind=ClaimKind.IDENTITY
        ),
        "attestationRevoked",
        {
            "attestation": "attestations/at_1",
            "attester": f"agents/{OTHER}",
            "kind": "ATTESTATION_KIND_IDENTITY",
        },
    ),
    (
        events.CapabilityVerified(agent_id=AGENT, capability_id="search", weighted_support=2.5),
        "capabilityVerified",
        {"capability": "capabilities/search", "weightedSupport": 2.5},
    ),
    (
        events.WebhookDisabled(agent_id=AGENT, webhook_id="wh_1", failures=5),
        "webhookDisabled",
        {"webhook": f"agents/{AGENT}/webhooks/wh_1", "failures": "5"},
    ),
    *[
        (
            events.AgentModerated(agent_id=AGENT, action=action, operator="ak_op", reason="why"),
            field,
            {"operator": "ak_op", "reason": "why"},
        )
        for action, field in [
            (EventType.AGENT_VERIFIED, "agentVerified"),
            (EventType.AGENT_UNVERIFIED, "agentUnverified"),
            (EventType.AGENT_SUSPENDED, "agentSuspended"),
            (EventType.AGENT_TAKEN_DOWN, "agentTakenDown"),
            (EventType.AGENT_REINSTATED, "agentReinstated"),
        ]
    ],
    (
        events.ApiKeyPlanChanged(
            agent_id=AGENT, key_id="ak_1", plan=Plan.ENTERPRISE, operator="ak_op", reason="deal"
        ),
        "apiKeyPlanChanged",
        {
            "apiKey": f"agents/{AGENT}/apiKeys/ak_1",
            "plan": "API_KEY_PLAN_ENTERPRISE",
            "operator": "ak_op",
            "reason": "deal",
        },
    ),
    (
        events.AgentDomainVerified(agent_id=AGENT, domain="example.com"),
        "agentDomainVerified",
        {"domain": "example.com"},
    ),
    (
        events.AgentDomainLost(agent_id=AGENT, domain="example.com", error="HTTP 404"),
        "agentDomainLost",
        {"domain": "example.com", "error": "HTTP 404"},
    ),
]


@pytest.mark.parametrize(("event", "field", "expected"), CASES, ids=lambda c: str(c)[:40])
def test_a_webhook_body_is_the_event_json_with_its_typed_payload(
    event: events.DomainEvent, field: str, expected: dict[str, Any]
) -> None:
    body = _body(event)
    assert body[field] == expected
    payloads = set(body) - {"id", "type", "agent", "createTime"}
    assert payloads == {field}


def test_every_type_but_keepalive_has_its_payload_named_after_it() -> None:
    covered = {case[0].event_type for case in CASES}
    assert covered == set(EventType) - {EventType.KEEPALIVE}
    assert set(PAYLOADS) == covered
    for event_type, (field, _) in PAYLOADS.items():
        assert field == event_type.lower()
    proto_names = {
        name.removeprefix("EVENT_TYPE_")
        for name, _ in resources_pb2.EventType.items()
        if name != "EVENT_TYPE_UNSPECIFIED"
    }
    assert proto_names == set(EventType)


def test_rows_written_before_a_key_was_kept_read_as_zero_values() -> None:
    """Stored rows are never migrated: a registration with `{}` and a revocation
    without its kind still convert."""
    registered = event_to_proto(ChangeEvent(1, "AGENT_REGISTERED", AGENT, AT, {}))
    assert registered.WhichOneof("payload") == "agent_registered"
    assert registered.agent_registered == resources_pb2.AgentRegistered()
    revoked = event_to_proto(
        ChangeEvent(2, "ATTESTATION_REVOKED", AGENT, AT, {"attestation": "attestations/at_1"})
    )
    assert revoked.attestation_revoked.attestation == "attestations/at_1"
    assert revoked.attestation_revoked.kind == resources_pb2.ATTESTATION_KIND_UNSPECIFIED


def test_a_keepalive_carries_no_payload() -> None:
    keepalive = event_to_proto(ChangeEvent(9, "KEEPALIVE", "", AT))
    assert keepalive.WhichOneof("payload") is None and keepalive.agent == ""
