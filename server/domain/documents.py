"""Documents from outside (agent cards, domain proofs, JWS protected headers): their limits,
declared once here (README, "Limits on documents from outside", lists them), and a JSON
parser that keeps to them.

`json.loads` recurses once per nesting level (a few thousand levels raise RecursionError)
and accepts NaN, Infinity, 1e999 and integers of thousands of digits, which RFC 8785
canonicalisation and Postgres then refuse as internal errors. So the raw bytes are checked
for size and depth before parsing, numbers are refused as they are parsed, and strings that
UTF-8 cannot carry (lone surrogates written as escapes) are refused after.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from server.domain.reasons import Reason

# Nesting of arrays and objects in any document from outside.
MAX_DEPTH = 32
# Numbers must be finite and, if integers, exact in a double (I-JSON, RFC 7493).
MAX_SAFE_INTEGER = 2**53 - 1

# Agent cards, inline (serialised size of the Struct) or fetched (decoded body).
CARD_MAX_BYTES = 64 * 1024
CARD_MAX_SKILLS = 100
CARD_MAX_SKILL_TAGS = 32
CARD_MAX_INTERFACES = 16
CARD_MAX_SIGNATURES = 8
# JWS segments of a card signature, in base64url characters.
JWS_MAX_HEADER_CHARS = 4096
JWS_MAX_SIGNATURE_CHARS = 1024
# Domain proof files (decoded body).
PROOF_MAX_BYTES = 64 * 1024
# A card fetch as a whole (resolve, connect, headers, body); domain proofs take
# DOMAIN_FETCH_TIMEOUT_S and webhook deliveries WEBHOOK_TIMEOUT_S the same way.
CARD_FETCH_DEADLINE_S = 5.0

# Stable ErrorInfo reasons.
LIMIT_EXCEEDED = Reason.DOCUMENT_LIMIT_EXCEEDED
NUMBER_INVALID = Reason.DOCUMENT_NUMBER_INVALID
NOT_JSON = Reason.DOCUMENT_NOT_JSON
TEXT_INVALID = Reason.DOCUMENT_TEXT_INVALID

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class DocumentRefused(ValueError):
    """A document breaks a limit or is not JSON: `path` names where, `reason` is stable."""

    def __init__(self, path: str, description: str, reason: Reason) -> None:
        super().__init__(f"{path}: {description}" if path else description)
        self.path = path
        self.description = description
        self.reason = reason


def deeper_than(raw: bytes, max_depth: int) -> bool:
    """Whether arrays/objects in `raw` nest deeper than `max_depth` (strings skipped); stops
    at the first level too many, so a hostile document costs no more than a legal one."""
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def _integer(text: str) -> int:
    if len(text) > 17 or abs(value := int(text)) > MAX_SAFE_INTEGER:
        raise DocumentRefused("", f"has an integer beyond ±{MAX_SAFE_INTEGER}", NUMBER_INVALID)
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DocumentRefused("", "has a number too large for a double", NUMBER_INVALID)
    return value


def _constant(text: str) -> float:
    raise DocumentRefused("", f"has {text}, which JSON does not allow", NUMBER_INVALID)


def loads(raw: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `raw` as JSON within the limits; raises DocumentRefused."""
    if len(raw) > max_bytes:
        raise DocumentRefused("", f"is larger than {max_bytes} bytes", LIMIT_EXCEEDED)
    if deeper_than(raw, max_depth):
        raise DocumentRefused("", f"nests deeper than {max_depth} levels", LIMIT_EXCEEDED)
    try:
        document = json.loads(raw, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except DocumentRefused:
        raise
    except (ValueError, RecursionError) as exc:  # RecursionError: belt and braces
        raise DocumentRefused("", "is not JSON", NOT_JSON) from exc
    _check_strings(document)
    return document


def _check_strings(document: Any) -> None:
    """Refuse lone surrogates (escapes such as \\ud800): no UTF-8 text can hold them."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and not value.isascii() and _SURROGATE.search(value):
            raise DocumentRefused("", "has a string that is not Unicode text", TEXT_INVALID)
