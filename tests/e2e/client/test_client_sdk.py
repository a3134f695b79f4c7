"""The client SDK against the real server: identity, sessions, reads, search, attestations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from agentregistry_client import (
    AgentKey,
    Claim,
    RegistryClient,
    RegistryError,
    encode_attestation,
    verify_attestation,
)
from agentregistry_client.pb import auth, resources

from server.app import RegistryServer


@pytest.fixture
def target(registry_server: RegistryServer) -> str:
    return f"127.0.0.1:{registry_server.port}"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


async def test_register_remembers_the_name_in_the_key_file_and_logs_in(
    target: str, tmp_path: Path
) -> None:
    key = AgentKey.load_or_create(tmp_path / "agent.key")
    assert (tmp_path / "agent.key").stat().st_mode & 0o777 == 0o600
    async with RegistryClient(target, key=key) as client:
        agent = await client.ensure_registered(unique("Sdk Agent"), "tool", tags=["sdk"])
        assert agent.public_key == key.public_key and agent.type == resources.AGENT_TYPE_TOOL
    reloaded = AgentKey.load(tmp_path / "agent.key")
    assert reloaded.agent == agent.name and reloaded.public_key == key.public_key
    async with RegistryClient(target, key=reloaded) as client:
        again = await client.ensure_registered("ignored", "tool")
        assert again.name == agent.name  # registered once, found on every later start
        session = await client.login()
        assert session.agent == agent.name and session.token
        updated = await client.update_agent(description="changed by the sdk")
        assert updated.description == "changed by the sdk"
        assert updated.display_name == agent.display_name  # only the given field changed


async def test_a_session_the_server_forgot_is_renewed_with_the_key(target: str) -> None:
    async with RegistryClient(target, key=AgentKey.generate()) as client:
        await client.register(unique("Renewing Agent"))
        first = await client.login()
        # Ends the session server-side while the client still holds it.
        await client.auth.DeleteSession(
            auth.DeleteSessionRequest(), metadata=(("authorization", f"Bearer {first.token}"),)
        )
        updated = await client.update_agent(description="after renewal")
        assert updated.description == "after renewal"
        assert client.credentials.session is not None
        assert client.credentials.session.token != first.token


async def test_errors_carry_the_reason_and_fields(target: str) -> None:
    async with RegistryClient(target) as client:
        with pytest.raises(RegistryError) as missing:
            await client.get_agent("agents/ag_0000000000000000")
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
        assert missing.value.reason == "AGENT_NOT_FOUND"
        with pytest.raises(RegistryError) as bad:
            await client.search("x", page_size=-1)
        assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_size" in bad.value.fields


async def test_search_find_and_suggest(target: str) -> None:
    word = uuid.uuid4().hex[:10]
    async with RegistryClient(target, key=AgentKey.generate()) as client:
        agent = await client.register(
            f"Zebra{word} Travel",
            "service",
            description=f"Books flights and hotels {word}",
            tags=["travel", word],
            capabilities=["travel-booking"],
        )
        found = await client.search(word, tags=[word])
        assert [r.agent.name for r in found.results] == [agent.name]
        none = await client.search(word, types=["tool"])
        assert not none.results
        matched = await client.find("book me a flight to Lisbon", tags=[word])
        assert "capabilities/travel-booking" in [m.capability for m in matched.matched_capabilities]
        assert agent.name in [r.agent.name for r in matched.results]
        for _ in range(50):
            suggestions = await client.suggest(f"Zebra{word}")
            if suggestions.suggestions:
                break
            await asyncio.sleep(0.1)
        assert [s.agent for s in suggestions.suggestions] == [agent.name]


async def test_a_client_signed_attestation_is_accepted_and_verifies_offline(target: str) -> None:
    async with (
        RegistryClient(target, key=AgentKey.generate()) as attester,
        RegistryClient(target, key=AgentKey.generate()) as subject,
    ):
        await attester.register(unique("Attester"))
        about = await subject.register(unique("Subject"), capabilities=["travel-booking"])
        claims = [
            Claim.for_behaviour(87),
            Claim.for_identity("example.com"),
            Claim.for_capability("travel-booking", True),
        ]
        for claim in claims:
            created = await attester.attest(about.name, claim, valid_for=timedelta(days=30))
            assert created.attester == attester.agent
            assert created.state == resources.Attestation.STATE_ACTIVE
            stored = await attester.get_attestation(created.name)
            assert verify_attestation(stored, attester.key.public_key)  # type: ignore[union-attr]
            assert not verify_attestation(stored, subject.key.public_key)  # type: ignore[union-attr]
            assert encode_attestation(stored).startswith(b"agentregistry.v1.Attestation\n")
        listed = await attester.list_attestations(subject=about.name)
        assert len(listed.attestations) == 3
        revoked = await attester.revoke(listed.attestations[0].name)
        assert revoked.state == resources.Attestation.STATE_REVOKED
        # A tampered claim no longer verifies.
        tampered = resources.Attestation()
        tampered.CopyFrom(revoked)
        if tampered.WhichOneof("claim") == "behaviour":
            tampered.behaviour.score = 10
        else:
            tampered.subject = attester.agent
        assert not verify_attestation(tampered, attester.key.public_key)  # type: ignore[union-attr]


async def test_watch_yields_the_agents_events(target: str) -> None:
    async with RegistryClient(target, key=AgentKey.generate()) as client:
        agent = await client.register(unique("Watched"))
        events = client.watch(after_event_id=1, agent=agent.name, types=["AGENT_UPDATED"])
        await client.update_agent(description="watched change")
        first = await asyncio.wait_for(anext(aiter(events)), 10)
        assert (first.type, first.agent) == (resources.EVENT_TYPE_AGENT_UPDATED, agent.name)
        await events.aclose()  # type: ignore[attr-defined]


async def test_api_keys_and_webhooks(target: str) -> None:
    async with RegistryClient(target, key=AgentKey.generate()) as client:
        await client.register(unique("Operator"))
        created = await client.api_keys.create("ci", scopes=["read", "admin"])
        assert created.key.startswith("ak_")
        assert [k.name for k in (await client.api_keys.list()).api_keys] == [created.name]
        async with RegistryClient(target, api_key=created.key, agent=client.agent) as integration:
            listed = await integration.api_keys.list()  # the admin scope manages keys
            assert [k.key_prefix for k in listed.api_keys] == [created.key_prefix]
        await client.api_keys.delete(created.name)
        assert not (await client.api_keys.list()).api_keys
        with pytest.raises(RegistryError) as refused:
            await client.webhooks.create("http://127.0.0.1:9/hook")
        assert refused.value.reason == "WEBHOOK_URL_REFUSED"
