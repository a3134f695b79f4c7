"""Resource ids: a short type prefix and 16 random base62 characters (~95 bits)."""

from __future__ import annotations

import re
import secrets
import string

_ALPHABET = string.digits + string.ascii_letters
_ID_LENGTH = 16


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(_ID_LENGTH))


def id_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}[0-9A-Za-z]{{{_ID_LENGTH}}}$")


AGENT_PREFIX = "ag_"
AGENT_ID = id_pattern(AGENT_PREFIX)
