"""Path templates of `google.api.http` rules (`/v1/{name=agents/*}:verb`), parsed with the
grammar Envoy's transcoder accepts, and matched against a request path.

Shared by the OpenAPI generator (scripts/http_rules.py) and the call layer, which reads
back from a transcoded call's original path what its URL said (server/calls/path_binding.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class Variable:
    """A `{field.path=segments}` binding: which template segments fill which field."""

    field_path: tuple[str, ...]
    start: int
    end: int | None  # exclusive; None when the span ends in `**`


@dataclass(frozen=True)
class Template:
    segments: tuple[str, ...]  # literal text, "*" or "**"
    verb: str
    variables: tuple[Variable, ...]

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if s not in ("*", "**"))

    def bind(self, path: str) -> dict[tuple[str, ...], str] | None:
        """What each variable holds in `path` (query string ignored), or None when the
        path does not fit the template. Values are percent-decoded as the transcoder
        decodes them: a one-segment variable fully, a longer one keeping `%2F`."""
        path = path.partition("?")[0]
        if not path.startswith("/"):
            return None
        segments = path[1:].split("/")
        if self.verb:
            last, colon, verb = segments[-1].rpartition(":")
            if not colon or verb != self.verb:
                return None
            segments[-1] = last
        if not self._fits(segments):
            return None
        bound = {}
        for variable in self.variables:
            raw = "/".join(segments[variable.start : variable.end])
            single = variable.end is not None and variable.end - variable.start == 1
            bound[variable.field_path] = unquote(raw if single else _KEEP_SLASH.sub("%252F", raw))
        return bound

    def _fits(self, segments: list[str]) -> bool:
        if self.segments and self.segments[-1] == "**":
            if len(segments) < len(self.segments) - 1:
                return False
        elif len(segments) != len(self.segments):
            return False
        for pattern, segment in zip(self.segments, segments, strict=False):
            if pattern == "**":
                return True
            if pattern == "*":
                if not segment:
                    return False
            elif pattern != segment:
                return False
        return True


_KEEP_SLASH = re.compile("%2[fF]")


def _split_outside_braces(text: str, sep: str) -> list[str]:
    pieces, depth, current = [], 0, ""
    for char in text:
        depth += (char == "{") - (char == "}")
        if char == sep and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += char
    pieces.append(current)
    return pieces


def parse_template(path: str) -> Template:
    """Parse `/seg/{var=a/*}/seg:verb` per the HttpRule grammar."""
    if not path.startswith("/"):
        raise ValueError(f"path template must start with '/': {path!r}")
    body, verb = path[1:], ""
    tail = _split_outside_braces(body, ":")
    if len(tail) == 2:
        body, verb = tail
    elif len(tail) > 2:
        raise ValueError(f"more than one verb in {path!r}")
    segments: list[str] = []
    variables: list[Variable] = []
    for piece in _split_outside_braces(body, "/"):
        if piece.startswith("{") and piece.endswith("}"):
            name, _, inner = piece[1:-1].partition("=")
            sub = inner.split("/") if inner else ["*"]
            start = len(segments)
            segments.extend(sub)
            end = None if sub[-1] == "**" else len(segments)
            variables.append(Variable(tuple(name.split(".")), start, end))
        elif piece and "{" not in piece and "}" not in piece:
            segments.append(piece)
        else:
            raise ValueError(f"bad segment {piece!r} in {path!r}")
    return Template(tuple(segments), verb, tuple(variables))
