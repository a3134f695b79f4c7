"""generated/ and the client's copy of the stubs must be exactly what `make proto` produces."""

from __future__ import annotations

import filecmp
from pathlib import Path

from scripts.gen_protos import CLIENT_PROTO_DIR, ROOT, generate, vendor_client_stubs

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


def test_client_stubs_match_protos(tmp_path: Path) -> None:
    generate(tmp_path / "generated")
    vendor_client_stubs(tmp_path / "generated" / "agentregistry" / "v1", tmp_path / "client")
    names = sorted(p.name for p in (tmp_path / "client").iterdir())
    committed = sorted(p.name for p in CLIENT_PROTO_DIR.iterdir() if p.name != "__pycache__")
    assert names == committed
    _, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "client", CLIENT_PROTO_DIR, names, shallow=False
    )
    assert not mismatch and not errors, f"stale client stubs, run `make proto`: {mismatch + errors}"


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
