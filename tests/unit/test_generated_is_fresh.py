"""generated/ must be exactly what `make proto` produces from protos/."""

from __future__ import annotations

import filecmp
from pathlib import Path

from scripts.gen_protos import ROOT, generate

GENERATED = ROOT / "generated" / "agentregistry" / "v1"


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = tmp_path / "agentregistry" / "v1"
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in GENERATED.iterdir() if p.name != "__pycache__")
    _, mismatch, errors = filecmp.cmpfiles(fresh, GENERATED, names, shallow=False)
    assert not mismatch and not errors, (
        f"stale generated files, run `make proto`: {mismatch + errors}"
    )


def test_every_unary_rpc_has_an_http_rule() -> None:
    from google.api import annotations_pb2
    from google.protobuf import descriptor_pb2

    descriptors = descriptor_pb2.FileDescriptorSet.FromString(
        (GENERATED / "descriptor.pb").read_bytes()
    )
    ours = [f for f in descriptors.file if f.package == "agentregistry.v1"]
    unary = [
        (service.name, method)
        for f in ours
        for service in f.service
        for method in service.method
        if not method.client_streaming and not method.server_streaming
    ]
    assert len(unary) > 30
    missing = [
        f"{s}.{m.name}" for s, m in unary if not m.options.HasExtension(annotations_pb2.http)
    ]
    assert not missing
