"""The CLI's session cache: used only from a private file, for the same key and target,
while more than a minute of the session is left."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agentregistry_client import AgentKey, Session, cli_sessions

TARGET = "registry.example:443"


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AgentKey:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    key = AgentKey.generate()
    key.agent = "agents/ag_cached000000000"
    return key


def _store(key: AgentKey, left: timedelta) -> Path:
    expire = datetime.now(UTC) + left
    cli_sessions.store(TARGET, key, Session("tok", key.agent or "", expire, 0.0))
    [file] = cli_sessions.directory().glob("*.json")
    return file


def test_a_private_fresh_session_is_reused(key: AgentKey) -> None:
    file = _store(key, timedelta(minutes=30))
    assert file.stat().st_mode & 0o777 == 0o600
    assert file.parent.stat().st_mode & 0o777 == 0o700
    token, agent, _ = cli_sessions.load(TARGET, key) or ("", "", None)
    assert (token, agent) == ("tok", key.agent)


def test_a_file_others_may_read_is_removed_unused(key: AgentKey) -> None:
    file = _store(key, timedelta(minutes=30))
    file.chmod(0o644)
    assert cli_sessions.load(TARGET, key) is None
    assert not file.exists()


def test_another_target_key_or_agent_or_a_nearly_spent_session_is_not_used(
    key: AgentKey,
) -> None:
    file = _store(key, timedelta(minutes=30))
    assert cli_sessions.load("elsewhere:443", key) is None
    other = AgentKey.generate()
    other.agent = key.agent
    assert cli_sessions.load(TARGET, other) is None
    document = json.loads(file.read_text())
    file.write_text(json.dumps({**document, "agent": "agents/ag_someoneelse00000"}))
    assert cli_sessions.load(TARGET, key) is None
    _store(key, timedelta(seconds=30))
    assert cli_sessions.load(TARGET, key) is None
    cli_sessions.drop(TARGET, key)
    assert list(cli_sessions.directory().glob("*.json")) == []
