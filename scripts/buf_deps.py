"""Copy the googleapis protos (google/api, google/rpc) where buf.yaml expects them.

buf cannot reach the Buf Schema Registry from every build machine, so the
workspace names a local module instead of `deps: buf.build/googleapis/...`. Its
files come from the pinned `googleapis-common-protos` wheel, the same files
`scripts/gen_protos.py` compiles against, so lint and codegen never disagree.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "googleapis"
PACKAGES = ("google/api", "google/rpc")


def googleapis_root() -> Path:
    import google.api  # googleapis-common-protos

    return Path(next(iter(google.api.__path__))).parent.parent


def copy(out: Path = DEFAULT_OUT) -> int:
    """Replace `out` with the .proto files of PACKAGES; returns how many were copied."""
    if out.exists():
        shutil.rmtree(out)
    count = 0
    for package in PACKAGES:
        for source in sorted((googleapis_root() / package).glob("*.proto")):
            target = out / package / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            count += 1
    return count


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(f"{copy(out)} googleapis protos -> {out}")


if __name__ == "__main__":
    main()
