"""The client README's agent, extracted from the README and run against a real server,
so the documented example cannot rot."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from agentregistry_client import AgentKey, Claim, RegistryClient

from scripts.gen_protos import ROOT
from tests.presence_support import PresenceClient

README = ROOT / "clients" / "python" / "README.md"


def readme_agent() -> str:
    section = README.read_text().split("## An agent in 15 lines", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README lost its agent"
    return match.group(1)


def test_the_readme_agent_is_fifteen_lines_at_most() -> None:
    code = [line for line in readme_agent().splitlines() if line.strip()]
    assert 0 < len(code) <= 15


async def _line(stream: asyncio.StreamReader) -> str:
    return (await asyncio.wait_for(stream.readline(), 30)).decode().strip()


async def _start(tmp_path: Path, target: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(tmp_path / "agent.py"),
        cwd=tmp_path,
        env={**os.environ, "AGENTREGISTRY_TARGET": target},
        stdout=asyncio.subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.kill()
    await process.wait()


async def test_the_readme_agent_registers_once_stays_online_and_hears_attestations(
    presence_client: PresenceClient, tmp_path: Path
) -> None:
    target = f"127.0.0.1:{presence_client.app.port}"
    (tmp_path / "agent.py").write_text(readme_agent())
    agent = await _start(tmp_path, target)
    assert agent.stdout is not None
    try:
        first = await _line(agent.stdout)
        assert first.startswith("online as agents/")
        name = first.removeprefix("online as ")
        assert AgentKey.load(tmp_path / "agent.key").agent == name
        async with RegistryClient(target, key=AgentKey.generate()) as attester:
            await attester.register("Readme Attester")
            for _ in range(100):  # online once its first beat is acked and written
                if (await attester.get_presence(name)).streaming:
                    break
                await asyncio.sleep(0.05)
            await attester.attest(name, Claim.for_behaviour(95))
            assert await _line(agent.stdout) == f"EVENT_TYPE_ATTESTATION_RECEIVED {name}"
    finally:
        await _stop(agent)

    again = await _start(tmp_path, target)  # a restart finds its registration in agent.key
    assert again.stdout is not None
    try:
        assert await _line(again.stdout) == f"online as {name}"
    finally:
        await _stop(again)
