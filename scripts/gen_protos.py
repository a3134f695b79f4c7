"""Regenerate Python stubs and the descriptor set from protos/.

Used by `make proto` and by the staleness test, so both produce the same bytes
(the generator is pinned through grpcio-tools in pyproject.toml). The client
distribution (clients/python) gets its own copy of the stubs under
`agentregistry_client._proto`, so it installs next to the server without both
claiming the top-level `agentregistry` package.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("agentregistry") / "v1"
CLIENT_PROTO_DIR = ROOT / "clients" / "python" / "src" / "agentregistry_client" / "_proto"
CLIENT_PACKAGE = "agentregistry_client._proto"
DESCRIPTOR_NAME = "descriptor.pb"
OPENAPI_NAME = "openapi.json"
ERROR_PROTOS = ("google/rpc/status.proto", "google/rpc/error_details.proto")


def _include_dirs() -> list[str]:
    import google.api  # googleapis-common-protos ships annotations.proto et al.

    googleapis_root = Path(next(iter(google.api.__path__))).parent.parent
    well_known = resources.files("grpc_tools") / "_proto"
    return [str(PROTO_ROOT), str(googleapis_root), str(well_known)]


def proto_files() -> list[str]:
    return sorted(
        str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto")
    )


def generate(out_dir: Path) -> None:
    target = out_dir / PACKAGE_DIR
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*_pb2*"):
        stale.unlink()
    args = ["grpc_tools.protoc", *(f"-I{d}" for d in _include_dirs())]
    stubs = [
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *proto_files(),
    ]
    # The descriptor set also carries the error types, so Envoy's transcoder
    # (convert_grpc_status) can print google.rpc details as JSON.
    descriptors = [
        f"--descriptor_set_out={target / DESCRIPTOR_NAME}",
        "--include_imports",
        "--include_source_info",
        *proto_files(),
        *ERROR_PROTOS,
    ]
    for extra in (stubs, descriptors):
        if protoc.main(args + extra) != 0:
            raise SystemExit("protoc failed")
    for package in (out_dir / "agentregistry", target):
        (package / "__init__.py").touch()
    # The OpenAPI document of the JSON mapping, from the descriptor set just written.
    sys.path.insert(0, str(ROOT))
    from scripts.gen_openapi import write as write_openapi

    write_openapi(target / DESCRIPTOR_NAME, target / OPENAPI_NAME)


def vendor_client_stubs(stubs_dir: Path, out_dir: Path) -> None:
    """The client's copy: the same stubs importing each other from `agentregistry_client._proto`.

    The descriptors are byte-identical, so in one process both copies share one set of
    message classes (the protobuf runtime accepts an identical file twice).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*_pb2*"):
        stale.unlink()
    for source in sorted(stubs_dir.glob("*_pb2*")):
        if source.suffix not in (".py", ".pyi"):
            continue
        text = source.read_text()
        text = text.replace("from agentregistry.v1 import ", f"from {CLIENT_PACKAGE} import ")
        (out_dir / source.name).write_text(text)
    (out_dir / "__init__.py").write_text(
        '"""Generated stubs of agentregistry.v1; `make proto`."""\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "generated")
    parser.add_argument("--client-out", type=Path, default=CLIENT_PROTO_DIR)
    args = parser.parse_args()
    generate(args.out)
    vendor_client_stubs(args.out / PACKAGE_DIR, args.client_out)


if __name__ == "__main__":
    sys.exit(main())
