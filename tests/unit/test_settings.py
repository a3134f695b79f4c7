from __future__ import annotations

import pytest

from server.settings import load_settings


def test_bad_environment_exits_naming_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "not-a-port")
    monkeypatch.setenv("WORKERS", "0")
    with pytest.raises(SystemExit) as exited:
        load_settings()
    message = str(exited.value)
    assert "GRPC_PORT" in message and "WORKERS" in message


def test_read_replica_needs_a_primary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_READ_URL", "postgresql://replica/db")
    with pytest.raises(SystemExit, match="DATABASE_READ_URL needs DATABASE_URL"):
        load_settings()


def test_the_documented_prefix_and_the_bare_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTREGISTRY_GRPC_PORT", "6001")
    monkeypatch.setenv("GRPC_HOST", "127.0.0.2")
    settings = load_settings()
    assert (settings.grpc_port, settings.grpc_host) == (6001, "127.0.0.2")


def test_trusted_proxies_are_addresses_or_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [str(n) for n in load_settings().trusted_proxies] == ["127.0.0.1/32"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    assert [str(n) for n in load_settings().trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8,not-an-address")
    with pytest.raises(SystemExit, match="TRUSTED_PROXIES"):
        load_settings()
