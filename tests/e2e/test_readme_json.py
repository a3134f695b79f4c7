"""The README's JSON walk-through (the `make run` curl session) run as written against
the real server behind Envoy: the JSON it sends is accepted and what it prints is what
the README says (names, enum spellings, the error shape). It runs with only the tools
stock macOS has too on its PATH (curl, grep, cut, tr), so no GNU base64 or OpenSSL
step can creep back in."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from tests.e2e.gateway_support import Edge

README = Path(__file__).resolve().parents[2] / "README.md"
DEADLINE_S = 120.0  # a generous bound on the whole session, not a timing check


def _session_block() -> str:
    """The sh block after "With `make run` going", without its endless watch."""
    text = README.read_text()
    start = text.index("With `make run` going")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block is not None
    lines = block.group(1).splitlines()
    endless = [line for line in lines if line.startswith("curl -sN")]
    assert len(endless) == 1  # the change feed never ends; tests/e2e/test_http_watch.py has it
    return "\n".join(line for line in lines if line not in endless)


def _json_values(output: str) -> list[Any]:
    """Every top-level JSON object curl printed, in order (other output is skipped)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := output.find("{", at)) != -1:
        try:
            value, at = decoder.raw_decode(output, at)
        except json.JSONDecodeError:
            at += 1
            continue
        values.append(value)
    return values


PORTABLE_TOOLS = ("curl", "grep", "cut", "tr")


def _portable_path(directory: Path) -> str:
    """A PATH holding only the tools the walk-through may use."""
    directory.mkdir()
    for tool in PORTABLE_TOOLS:
        found = shutil.which(tool)
        assert found is not None, tool
        (directory / tool).symlink_to(found)
    return str(directory)


async def test_the_readme_curl_session_answers_as_documented(gateway: Edge, tmp_path) -> None:
    script = _session_block().replace("/tmp/", f"{tmp_path}/")
    script = re.sub(r"^API=.*$", f"API={gateway.url}", script, flags=re.M)
    script = re.sub(r"^PY=.*$", f"PY={sys.executable}", script, flags=re.M)
    bash = shutil.which("bash")
    assert bash is not None
    process = await asyncio.create_subprocess_exec(
        bash,
        "-euo",
        "pipefail",
        "-c",
        script,
        cwd=tmp_path,
        env={"PATH": _portable_path(tmp_path / "bin"), "HOME": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), DEADLINE_S)
    assert process.returncode == 0, stderr.decode() + stdout.decode()
    output = stdout.decode()
    assert "\n304\n" in output  # If-None-Match with the etag just read
    headers = output.lower()
    assert " 401 " in headers and 'www-authenticate: bearer realm="agentregistry"' in headers

    catalog, agent, patched, refused = _json_values(output)
    assert len(catalog["capabilities"]) == 2 and catalog["nextPageToken"]
    assert agent["name"].startswith("agents/ag_")
    assert (agent["displayName"], agent["type"], agent["tags"]) == (
        "Lisbon Trips",
        "AGENT_TYPE_SERVICE",
        ["travel"],
    )
    assert agent["state"] == "AGENT_STATE_ACTIVE" and agent["status"] == "AGENT_STATUS_OFFLINE"
    assert (patched["name"], patched["displayName"], patched["description"]) == (
        agent["name"],
        "Lisbon Trips & Tours",
        "Flights and hotels in Portugal.",
    )
    assert refused["code"] == 16  # UNAUTHENTICATED, HTTP 401
    [info] = [d for d in refused["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    assert (info["reason"], info["domain"]) == ("SESSION_REQUIRED", "agentregistry.dev")


SKILL = Path(__file__).resolve().parents[2] / "envoy" / "skill.md"


async def test_skill_md_registers_and_logs_in_as_written(gateway: Edge, tmp_path) -> None:
    """/skill.md's first two steps, with python3 (and its `cryptography`) the only tool
    beside curl: the registration is accepted and the login returns a token."""
    register, login = re.findall(r"```sh\n(.*?)```", SKILL.read_text(), re.S)[:2]
    register = register.replace(
        'curl -s "$API/v1/agents"', 'curl -s -o agent.json "$API/v1/agents"'
    )
    login = re.sub(r"^NAME=.*$", "NAME=$(field name < agent.json)", login, flags=re.M)
    script = f'API={gateway.url}\n{register}\n{login}\necho "token=$TOKEN"\n'
    bin_dir = Path(_portable_path(tmp_path / "bin"))
    # A wrapper, not a link: a link to a venv's interpreter loses the venv on Python 3.13.
    wrapper = bin_dir / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    process = await asyncio.create_subprocess_exec(
        shutil.which("bash") or "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        cwd=tmp_path,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), DEADLINE_S)
    assert process.returncode == 0, stderr.decode() + stdout.decode()
    assert json.loads((tmp_path / "agent.json").read_text())["name"].startswith("agents/ag_")
    token = stdout.decode().strip().rsplit("token=", 1)[-1]
    assert len(token) > 20
