"""The `agentregistry` console script run as a subprocess against the real server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server.app import RegistryServer

SCRIPT = Path(sys.executable).parent / "agentregistry"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    def __init__(self, target: str, cwd: Path) -> None:
        self.target, self.cwd = target, cwd

    async def __call__(
        self, *args: str, env: dict[str, str] | None = None, target: bool = True
    ) -> Result:
        # Asynchronous, so the server in this test's event loop keeps serving meanwhile.
        # The config file and the session cache live in the test's directory.
        home = {"XDG_CONFIG_HOME": str(self.cwd / "config"), "XDG_CACHE_HOME": str(self.cwd)}
        process = await asyncio.create_subprocess_exec(
            str(SCRIPT),
            *(("--target", self.target) if target else ()),
            *args,
            cwd=self.cwd,
            env={**os.environ, **home, **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return Result(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
def cli(registry_server: RegistryServer, tmp_path: Path) -> Cli:
    return Cli(f"127.0.0.1:{registry_server.port}", tmp_path)
