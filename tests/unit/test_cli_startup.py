"""`agentregistry --help` and `--version` answer without loading grpc or protobuf: the
import of those is most of a command's start, and people type --help most."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from agentregistry_client.cli import main
try:
    main([{argument!r}])
except SystemExit:
    pass
heavy = sorted(m for m in ("grpc", "google.protobuf", "cryptography") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def _heavy_imports(argument: str) -> str:
    probe = PROBE.format(argument=argument)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_help_and_version_load_no_grpc() -> None:
    assert _heavy_imports("--help") == "none"
    assert _heavy_imports("--version") == "none"
