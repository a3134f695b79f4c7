"""The `agentregistry` console script as a subprocess against the real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from agentregistry_client import AgentKey, RegistryClient

from tests.e2e.client.cli_support import Cli


async def test_register_login_get_search_find_as_json(cli: Cli, tmp_path: Path) -> None:
    word = f"clitest{uuid.uuid4().hex[:8]}"
    assert (await cli("keys", "generate", "--json")).json()["agent"] is None
    registered = await cli(
        "--json", "register", f"Cli {word} Travel", "--type", "service", "--tag", word,
        "--description", "Books flights and hotels.", "--capability", "travel-booking",
    )  # fmt: skip
    assert registered.code == 0, registered.stderr
    name = registered.json()["name"]
    assert AgentKey.load(tmp_path / "agent.key").agent == name
    shown = (await cli("--json", "keys", "show")).json()
    assert shown["agent"] == name

    login = (await cli("--json", "login")).json()
    assert login["agent"] == name and login["token"]
    async with RegistryClient(cli.target, token=login["token"], agent=name) as with_token:
        assert (await with_token.update_agent(description="via the token")).name == name

    got = (await cli("--json", "get")).json()
    assert (got["name"], got["displayName"], got["type"]) == (
        name,
        f"Cli {word} Travel",
        "AGENT_TYPE_SERVICE",
    )
    found = (await cli("--json", "search", word, "--tag", word)).json()
    assert [r["agent"]["name"] for r in found["results"]] == [name]
    matched = (await cli("--json", "find", "book me a flight", "--tag", word)).json()
    assert "capabilities/travel-booking" in [
        m["capability"] for m in matched["matchedCapabilities"]
    ]
    assert name in [r["agent"]["name"] for r in matched["results"]]
    text = await cli("search", word, "--tag", word)
    assert name in text.stdout and f"Cli {word} Travel" in text.stdout

    ack = (await cli("--json", "heartbeat", "--once", "--status", "busy")).json()
    assert ack["status"] == "AGENT_STATUS_BUSY"
    held = await cli("heartbeat", "--duration", "1")  # the stream, then an OFFLINE goodbye
    assert held.code == 0 and f"{name} is online" in held.stderr
    assert (await cli("--json", "get")).json()["status"] == "AGENT_STATUS_OFFLINE"
    events = await cli(
        "--json",
        "watch",
        "--after",
        "1",
        "--of",
        name,
        "--type",
        "agent_updated",
        "--count",
        "1",
    )
    assert events.json()["type"] == "EVENT_TYPE_AGENT_UPDATED"  # the update made with the token


async def test_attest_verify_keys_and_webhooks(cli: Cli, tmp_path: Path) -> None:
    subject = AgentKey.generate()
    async with RegistryClient(cli.target, key=subject) as client:
        about = await client.register(f"Subject {uuid.uuid4().hex[:8]}")
    assert (await cli("register", "Cli Attester")).code == 0  # makes its own key file
    attested = await cli("--json", "attest", about.name, "--behaviour", "80")
    assert attested.code == 0, attested.stderr
    attestation = attested.json()
    assert attestation["behaviour"]["score"] == 80 and attestation["state"] == "STATE_ACTIVE"
    verified = await cli("--json", "verify", attestation["name"])
    assert verified.code == 0 and verified.json()["valid"] is True
    revoked = (await cli("--json", "revoke", attestation["name"])).json()
    assert revoked["state"] == "STATE_REVOKED"

    created = (
        await cli("--json", "keys", "api", "create", "ci", "--scope", "write", "--scope", "admin")
    ).json()
    assert created["key"].startswith("ak_")
    listed = (await cli("--json", "keys", "api", "list")).json()
    assert [k["name"] for k in listed["apiKeys"]] == [created["name"]]
    # An operator with only the API key manages the agent's webhooks: none yet.
    as_operator = await cli(
        "--json", "webhooks", "list",
        env={"AGENTREGISTRY_API_KEY": created["key"], "AGENTREGISTRY_KEY_FILE": "absent.key",
             "AGENTREGISTRY_AGENT": attestation["attester"]},
    )  # fmt: skip
    assert as_operator.code == 0, as_operator.stderr
    assert as_operator.json()["webhooks"] == []
    assert (await cli("--json", "keys", "api", "delete", created["name"])).code == 0


async def test_errors_are_reported_with_their_reason_and_exit_code(cli: Cli) -> None:
    missing = await cli("--json", "get", "agents/ag_0000000000000000")
    assert missing.code == 1 and missing.stdout == ""
    assert json.loads(missing.stderr)["error"]["reason"] == "AGENT_NOT_FOUND"
    unregistered = await cli("login")
    assert unregistered.code == 1 and "NOT_REGISTERED" in unregistered.stderr
    usage = await cli("attest", "agents/ag_0000000000000000")  # no claim given
    assert usage.code == 2
