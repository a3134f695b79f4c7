"""Write the README's error-reason table from protos/agentregistry/v1/error_reason.proto.

The proto documents every ErrorReason value as `CODE: when it happens` and a last line
`metadata: ...`; this reads those comments from the descriptor set `make proto` writes
(it keeps source info) and replaces the README between the two markers. Run it after
adding a reason; tests/unit/test_error_reasons.py fails while the README is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTOR = ROOT / "generated" / "agentregistry" / "v1" / "descriptor.pb"
README = ROOT / "README.md"
PROTO_FILE = "agentregistry/v1/error_reason.proto"
PREFIX = "ERROR_REASON_"
START = "<!-- error-reasons:start (scripts/gen_error_table.py) -->"
END = "<!-- error-reasons:end -->"
_ENUM_TYPE, _ENUM_VALUE = 5, 2  # FileDescriptorProto.enum_type, EnumDescriptorProto.value


def reasons(descriptor: Path = DESCRIPTOR) -> list[tuple[str, str, str, str]]:
    """(reason as sent, status code, when, metadata) per value, in proto order."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes())
    proto = next(f for f in files.file if f.name == PROTO_FILE)
    enum_index = next(i for i, e in enumerate(proto.enum_type) if e.name == "ErrorReason")
    comments = {tuple(loc.path): loc.leading_comments for loc in proto.source_code_info.location}
    rows = []
    for i, value in enumerate(proto.enum_type[enum_index].value):
        if value.number == 0:
            continue
        text = " ".join(comments[(_ENUM_TYPE, enum_index, _ENUM_VALUE, i)].split())
        head, _, metadata = text.partition(" metadata: ")
        code, _, when = head.partition(": ")
        rows.append((value.name.removeprefix(PREFIX), code, when, metadata.rstrip(".")))
    return rows


def table(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["| reason | code | when | `ErrorInfo.metadata` |", "|---|---|---|---|"]
    lines += [f"| `{r}` | `{c.replace(' or ', '` or `')}` | {w} | {m} |" for r, c, w, m in rows]
    return "\n".join(lines)


def rendered(readme: str, rows: list[tuple[str, str, str, str]]) -> str:
    """`readme` with the table between the markers replaced."""
    before, start, rest = readme.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"README.md lacks the markers {START} ... {END}")
    return f"{before}{START}\n{table(rows)}\n{END}{after}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args()
    current = README.read_text()
    wanted = rendered(current, reasons())
    if args.check:
        sys.exit(0 if wanted == current else 1)
    README.write_text(wanted)


if __name__ == "__main__":
    main()
