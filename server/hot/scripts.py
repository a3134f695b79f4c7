"""The registry's Redis scripts: named `.lua` files (server/hot/lua/), composed here.

A script's first lines may name the fragments it builds on (`-- uses: budget, admit`):
each is put in front of it once, fragments' own uses first, so a rule shared by several
scripts (the budget count, the session check, the cache lookup) is written once. A
`$NAME` in a script is a constant the loader is given (`load(name, NAME=value)`); one
left unfilled is an error, not a script that fails in Redis.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from server.hot.channel import Script

_LUA = Path(__file__).with_name("lua")
_USES = re.compile(r"^-- uses: (.+)$", re.M)
_CONSTANT = re.compile(r"\$([A-Z][A-Z0-9_]*)")


@functools.cache
def _read(name: str) -> str:
    return (_LUA / f"{name}.lua").read_text()


def _uses(name: str) -> list[str]:
    found = _USES.search(_read(name))
    return [] if found is None else [part.strip() for part in found.group(1).split(",")]


def _composed(name: str, seen: set[str], parts: list[str]) -> None:
    for used in _uses(name):
        if used not in seen:
            seen.add(used)
            _composed(used, seen, parts)
    parts.append(_read(name))


def text(name: str, **constants: int | str) -> str:
    """The script `name` as Redis runs it: its fragments in front, its constants filled."""
    parts: list[str] = []
    _composed(name, {name}, parts)
    source = "\n".join(parts)

    def fill(found: re.Match[str]) -> str:
        key = found.group(1)
        if key not in constants:
            raise KeyError(f"{name}.lua needs the constant ${key}")
        return str(constants[key])

    return _CONSTANT.sub(fill, source)


def load(name: str, **constants: int | str) -> Script:
    """`text(name)` with its SHA-1, for EVALSHA."""
    return Script(text(name, **constants))
