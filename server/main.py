"""`python -m server`: the whole registry on one host.

Resolves the backing services (starting the embedded ones if no URLs are
set), migrates if asked, then supervises WORKERS server processes sharing the
gRPC port, one scheduler, Envoy as the JSON edge in front of them and the
metrics endpoint. SIGTERM drains the workers within SHUTDOWN_GRACE_S; a child
that dies is restarted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import uvloop

from db.migrate import current_is_head, upgrade
from server.backing import BackingServices, resolve
from server.edge.config import render
from server.edge.process import EnvoyProcess
from server.observability import logs
from server.observability.metrics_http import serve_metrics
from server.readiness import wait_until_serving
from server.settings import Settings, load_settings

log = logging.getLogger("agentregistry")

_RESTART_DELAY_S = 1.0


def _grpc_target(settings: Settings) -> tuple[str, int]:
    """Where Envoy reaches the workers: their own address, or loopback for a wildcard."""
    wildcard = settings.grpc_host in ("", "0.0.0.0", "::", "[::]")
    return ("127.0.0.1" if wildcard else settings.grpc_host), settings.grpc_port


class Supervisor:
    def __init__(self, settings: Settings, backing: BackingServices, env: dict[str, str]) -> None:
        self._settings = settings
        self._env = env
        self._backing = backing
        self._workers: list[subprocess.Popen[bytes]] = []
        self._scheduler: subprocess.Popen[bytes] | None = None
        self.envoy = EnvoyProcess(
            render(
                (settings.http_host, settings.http_port),
                _grpc_target(settings),
                access_log=settings.edge_access_log,
                access_log_percent=settings.edge_access_log_percent,
            ),
            settings.data_dir.resolve() / "envoy",
        )
        self.stopping = False

    def _spawn(self, module: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", module], env=self._env)

    def start(self) -> None:
        self._workers = [self._spawn("server.worker") for _ in range(self._settings.workers)]
        self._scheduler = self._spawn("scheduler")
        self.envoy.spawn()

    async def watch(self) -> None:
        """Restart children that exit while we are not stopping."""
        while not self.stopping:
            await asyncio.sleep(_RESTART_DELAY_S)
            for index, worker in enumerate(self._workers):
                if worker.poll() is not None and not self.stopping:
                    log.error("worker %d exited with %s; restarting", worker.pid, worker.returncode)
                    self._workers[index] = self._spawn("server.worker")
            scheduler = self._scheduler
            if scheduler is not None and scheduler.poll() is not None and not self.stopping:
                log.error("scheduler exited with %s; restarting", scheduler.returncode)
                self._scheduler = self._spawn("scheduler")
            code = self.envoy.exited()
            if code is not None and not self.stopping:
                log.error("envoy exited with %s; restarting", code)
                self.envoy.spawn()

    async def stop(self) -> None:
        self.stopping = True
        await self.envoy.stop()  # first: no new HTTP requests while the workers drain
        children = [*self._workers, *([self._scheduler] if self._scheduler else [])]
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = self._settings.shutdown_grace_s + 5
        for child in children:
            try:
                await asyncio.to_thread(child.wait, deadline)
            except subprocess.TimeoutExpired:
                log.warning("child %d did not stop in time; killing it", child.pid)
                child.kill()


def page_token_secret(settings: Settings) -> str:
    """PAGE_TOKEN_SECRET, else one kept under DATA_DIR: the workers (and a restart) agree.
    Instances on other hosts have no access to this file: set PAGE_TOKEN_SECRET there."""
    if settings.page_token_secret is not None:
        return settings.page_token_secret.get_secret_value()
    path = settings.data_dir.resolve() / "page-token-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _child_env(settings: Settings, backing: BackingServices, metrics_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": backing.database_url,
        "REDIS_URL": backing.redis_url,
        "GRPC_PORT": str(settings.grpc_port),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PAGE_TOKEN_SECRET": page_token_secret(settings),
    }
    if backing.database_read_url:
        env["DATABASE_READ_URL"] = backing.database_read_url
    return env


async def serve(settings: Settings) -> None:
    if settings.grpc_port == 0:
        raise SystemExit("GRPC_PORT must be fixed when workers share it (SO_REUSEPORT)")
    log.info("agent registry starting… (URLs follow once it answers)")
    started = time.monotonic()
    backing = resolve(
        settings.database_url, settings.redis_url, settings.data_dir, settings.database_read_url
    )
    try:
        if settings.migrate_on_start:
            upgrade(backing.database_url)
        elif not current_is_head(backing.database_url):
            raise SystemExit(
                "database schema is not at the latest revision: run `make migrate` first"
            )
        metrics_dir = settings.data_dir.resolve() / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        metrics_server, metrics_port = serve_metrics(settings.metrics_host, settings.metrics_port)
        supervisor = Supervisor(settings, backing, _child_env(settings, backing, metrics_dir))
        supervisor.start()
        try:
            await supervisor.envoy.ready()
        except RuntimeError as failed:
            await supervisor.stop()
            metrics_server.shutdown()
            raise SystemExit(f"the JSON edge did not start: {failed}") from None
        watcher = asyncio.create_task(supervisor.watch())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if await _serving_or_stopped(settings, stop):
            _announce(settings, metrics_port, time.monotonic() - started)
            await stop.wait()
        log.info("shutting down (grace %.0f s)", settings.shutdown_grace_s)
        await supervisor.stop()
        watcher.cancel()
        metrics_server.shutdown()
    finally:
        backing.close()


async def _serving_or_stopped(settings: Settings, stop: asyncio.Event) -> bool:
    """True once a call through either URL would be answered; False if told to stop first."""
    serving = asyncio.create_task(
        wait_until_serving(
            settings.grpc_host, settings.grpc_port, settings.http_host, settings.http_port
        )
    )
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
    serving.cancel()
    stopped.cancel()
    return not stop.is_set()


def _announce(settings: Settings, metrics_port: int, took_s: float) -> None:
    log.info(
        "agent registry serving after %.1f s: %d workers, gRPC on %s:%d, metrics on http://%s:%d/metrics",
        took_s,
        settings.workers,
        settings.grpc_host,
        settings.grpc_port,
        settings.metrics_host,
        metrics_port,
    )
    log.info("JSON over HTTP (Envoy) on http://%s:%d", settings.http_host, settings.http_port)


def main() -> None:
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
