"""Exit with one plain line when this Python is outside pyproject's requires-python.

Run by `make` with the interpreter it is about to build `.venv` with, before anything is
installed: pip's own refusal comes minutes later, after a half-built `.venv`.
"""

import re
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def supported_range() -> tuple[tuple[int, int], tuple[int, int]]:
    """(lowest, first unsupported) from `requires-python = ">=3.11,<3.14"`."""
    spec = re.search(r'^requires-python = "(.*)"', PYPROJECT.read_text(), re.M)
    assert spec is not None, "pyproject.toml has no requires-python"
    low = re.search(r">=\s*(\d+)\.(\d+)", spec.group(1))
    high = re.search(r"<\s*(\d+)\.(\d+)", spec.group(1))
    assert low is not None and high is not None, spec.group(1)
    return (int(low[1]), int(low[2])), (int(high[1]), int(high[2]))


def main() -> None:
    (low, high), have = supported_range(), sys.version_info[:2]
    if not low <= have < high:
        newest = f"{high[0]}.{high[1] - 1}"
        sys.exit(
            f"Python {have[0]}.{have[1]} ({sys.executable}) is not supported: "
            f"use {low[0]}.{low[1]} to {newest}, e.g. make install PYTHON=python{newest}"
        )


if __name__ == "__main__":
    main()
