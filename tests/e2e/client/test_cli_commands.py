"""The CLI's commands beyond the basics: human output, the session kept between commands,
key rotation, profile changes, reputation, operator calls, contexts and completion."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest
import yaml
from agentregistry_client import AgentKey, RegistryClient, RegistryError

from scheduler.context import JobContext
from server.auth.api_keys import ApiKeyService
from server.backing import BackingServices
from tests.attestation_factories import trust_context  # noqa: F401 - fixture
from tests.e2e.client.cli_support import Cli


def _cached_sessions(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "agentregistry" / "sessions").glob("*.json"))


async def test_the_session_is_kept_between_commands_privately_until_logout(
    cli: Cli, tmp_path: Path
) -> None:
    registered = await cli("-o", "json", "register", f"Cached {uuid.uuid4().hex[:6]}")
    name = registered.json()["name"]
    assert (await cli("update", "--description", "first")).code == 0
    [cached] = _cached_sessions(tmp_path)
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o700
    token = json.loads(cached.read_text())["token"]
    changed = await cli("-o", "json", "update", "--description", "second")
    assert changed.json()["description"] == "second"
    assert json.loads(cached.read_text())["token"] == token  # no second login

    ended = await cli("logout")
    assert ended.code == 0 and "session ended" in ended.stdout
    assert _cached_sessions(tmp_path) == []
    async with RegistryClient(cli.target, token=token, agent=name) as old:
        with pytest.raises(RegistryError) as refused:
            await old.update_agent(description="with the ended session")
    assert refused.value.reason == "SESSION_INVALID"
    assert (await cli("--no-session-cache", "update", "--description", "third")).code == 0
    assert _cached_sessions(tmp_path) == []  # nothing kept when told not to


async def test_people_read_lines_not_protobuf_text(cli: Cli) -> None:
    subject = AgentKey.generate()
    async with RegistryClient(cli.target, key=subject) as client:
        about = await client.register(f"Subject {uuid.uuid4().hex[:8]}")
    assert (await cli("register", "Cli Rater")).code == 0
    attested = await cli("attest", about.name, "--behaviour", "80")
    assert attested.code == 0, attested.stderr
    assert f"about {about.name}: behaviour 80  active" in attested.stdout
    assert "signature" not in attested.stdout and "\\\\" not in attested.stdout
    beat = await cli("heartbeat", "--once", "--status", "busy")
    assert "is busy; beat again within" in beat.stdout and "sequence" not in beat.stdout
    reputation = await cli("reputation", about.name)
    assert reputation.stdout.startswith(f"{about.name}/reputation  trust ")
    assert (await cli("leaderboard", "--limit", "3")).code == 0
    as_yaml = yaml.safe_load((await cli("get", about.name, "-o", "yaml")).stdout)
    assert as_yaml["name"] == about.name

    missing = await cli("get", "agents/ag_0000000000000000")
    assert missing.stderr.count("NOT_FOUND") == 2  # the reason and the code, once each
    assert missing.stderr.startswith("error: ") and "AGENT_NOT_FOUND" in missing.stderr


async def test_watch_from_the_oldest_event_shows_no_keepalives(cli: Cli) -> None:
    shown = await cli("-o", "json", "watch", "--from-oldest", "--count", "3")
    assert shown.code == 0, shown.stderr
    events = [json.loads(line) for line in shown.stdout.splitlines()]
    assert len(events) == 3 and "EVENT_TYPE_KEEPALIVE" not in [e["type"] for e in events]
    assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)


async def test_rotate_the_key_then_delete_the_agent(cli: Cli, tmp_path: Path) -> None:
    name = (await cli("-o", "json", "register", "Rotating")).json()["name"]
    before = AgentKey.load(tmp_path / "agent.key")
    rotated = await cli("rotate-key", "--keep-old", "old.key")
    assert rotated.code == 0, rotated.stderr
    after = AgentKey.load(tmp_path / "agent.key")
    assert after.agent == name and after.public_key != before.public_key
    assert AgentKey.load(tmp_path / "old.key").public_key == before.public_key
    assert not (tmp_path / "agent.key.new").exists()
    assert (await cli("update", "--display-name", "Rotated")).code == 0  # the new key logs in

    refused = await cli("delete")
    assert refused.code == 2 and "--yes" in refused.stderr
    assert (await cli("delete", "--yes")).code == 0
    assert (await cli("get", name)).code == 1


async def test_operator_commands(cli: Cli, trust_context: JobContext) -> None:  # noqa: F811
    _, operator_key = await ApiKeyService(
        trust_context.uow, trust_context.redis
    ).create_operator_key("cli operator")
    name = (await cli("-o", "json", "register", "Moderated")).json()["name"]
    as_operator = {"AGENTREGISTRY_API_KEY": operator_key}
    suspended = await cli(
        "-o", "json", "admin", "suspend", name, "--reason", "spam", env=as_operator
    )
    assert suspended.code == 0, suspended.stderr
    assert suspended.json()["state"] == "AGENT_STATE_SUSPENDED"
    back = await cli("admin", "reinstate", name, "--reason", "appeal", env=as_operator)
    assert back.code == 0 and name in back.stdout
    verified = await cli(
        "-o", "json", "admin", "verify", name, "--reason", "known", env=as_operator
    )
    assert verified.json()["verified"] is True
    not_operator = await cli("admin", "suspend", name, "--reason", "x")
    assert not_operator.code == 2 and "operator key" in not_operator.stderr


async def test_contexts_choose_the_target(cli: Cli, tmp_path: Path) -> None:
    saved = await cli("context", "set", "here", "--set-target", cli.target, target=False)
    assert saved.code == 0, saved.stderr
    assert (await cli("context", "set", "nowhere", "--set-target", "127.0.0.1:1")).code == 0
    listed = await cli("context", "list", target=False)
    assert "* here" in listed.stdout and "  nowhere" in listed.stdout
    found = await cli("search", "anything", target=False)
    assert found.code == 0, found.stderr
    assert (await cli("context", "use", "nowhere", target=False)).code == 0
    unreachable = await cli("--context", "here", "search", "x", target=False)
    assert unreachable.code == 0
    missing = await cli("--context", "absent", "search", "x", target=False)
    assert missing.code == 2 and "no context 'absent'" in missing.stderr


async def test_version_and_completion(cli: Cli) -> None:
    version = await cli("--version", target=False)
    assert version.code == 0 and version.stdout.startswith("agentregistry ")
    completion = await cli("completion", "bash", target=False)
    assert "complete -F _agentregistry agentregistry" in completion.stdout
    assert '"admin") words="verify unverify suspend take-down reinstate set-plan' in (
        completion.stdout
    )


async def test_operator_keys_from_the_cli(cli: Cli, backing: BackingServices) -> None:
    """Where the registry is installed, the CLI mints and revokes operator keys through
    `python -m server.admin` on the registry's database."""
    database = {"DATABASE_URL": backing.database_url, "REDIS_URL": backing.redis_url}
    created = await cli("operator-key", "create", "--name", "cli", env=database, target=False)
    assert created.code == 0, created.stderr
    key_id, secret = created.stdout.split()[2], created.stdout.splitlines()[-1]
    name = (await cli("-o", "json", "register", "Operated")).json()["name"]
    as_operator = {"AGENTREGISTRY_API_KEY": secret}
    assert (await cli("admin", "verify", name, "--reason", "ok", env=as_operator)).code == 0
    revoked = await cli("operator-key", "revoke", key_id, env=database, target=False)
    assert revoked.code == 0 and f"revoked {key_id}" in revoked.stdout
    refused = await cli("admin", "unverify", name, "--reason", "x", env=as_operator)
    assert refused.code == 1 and "API_KEY_INVALID" in refused.stderr
